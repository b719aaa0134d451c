using System.Diagnostics;
using System.Globalization;
using SparseNet.Engine.Autograd;
using SparseNet.Engine.Devices;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Tensors;

namespace SparseNet.GpuCheck;

/// <summary>
/// The comparisons of a device backend with the CPU backend that cover every backend primitive (and so every GPU
/// kernel): elementwise ops with broadcasting, reductions, shaping, matrix products in each transpose combination,
/// convolution, pooling, batch norm, cross-entropy, threshold selection and optimizer steps, each with its gradients.
/// The tests run them on ILGPU's CPU accelerator; <c>sparsenet-gpu-check</c> runs them on a GPU.
/// </summary>
public static class BackendChecks
{
    /// <summary>The op comparisons; <paramref name="large"/> adds sizes a GPU handles in milliseconds (too slow for the CPU accelerator).</summary>
    public static IReadOnlyList<BackendCheck> Ops(bool large = false)
    {
        var checks = new List<BackendCheck>
        {
            new("add broadcast", t => t[0] + t[1], [(Random(60, 1), [3, 4, 5]), (Random(20, 2), [4, 5])]),
            new("mul broadcast", t => t[0] * t[1], [(Random(60, 3), [3, 4, 5]), (Random(3, 4), [3, 1, 1])]),
            new("div", t => t[0] / (t[1].Abs() + 1f), [(Random(12, 5), [3, 4]), (Random(4, 6), [4])]),
            new("sub exp tanh", t => (t[0] - t[1]).Exp().Tanh(), [(Random(12, 7), [3, 4]), (Random(3, 8), [3, 1])]),
            new("relu sigmoid", t => t[0].Relu() + t[0].Sigmoid(), [(Random(33, 9), [33])]),
            new("log sqrt pow", t => (t[0].Abs() + 0.5f).Log() + (t[0].Abs() + 0.1f).Sqrt() + t[0].Pow(3f), [(Random(17, 10), [17])]),
            new("sum", t => t[0].Sum(), [(Random(1000, 11), [10, 100])]),
            new("mean over axes", t => t[0].Mean([0, 2]), [(Random(60, 12), [3, 4, 5])]),
            new("softmax", t => t[0].Softmax(), [(Random(35, 13, 5f), [5, 7])]),
            new("log softmax", t => t[0].LogSoftmax(), [(Random(35, 14, 5f), [5, 7])]),
            new("transpose", t => t[0].Transpose() * 2f, [(Random(35, 15), [5, 7])]),
            new("matmul", t => Tensor.MatMul(t[0], t[1]), [(Random(35, 21), [5, 7]), (Random(77, 22), [7, 11])]),
            new("matmul bᵀ", t => Tensor.MatMul(t[0], t[1], transposeB: true), [(Random(35, 23), [5, 7]), (Random(77, 24), [11, 7])]),
            new("matmul aᵀ", t => Tensor.MatMul(t[0], t[1], transposeA: true), [(Random(35, 25), [7, 5]), (Random(77, 26), [7, 11])]),
            new("matmul batched", t => Tensor.MatMul(t[0], t[1]), [(Random(70, 27), [2, 5, 7]), (Random(42, 28), [2, 7, 3])]),
            new("conv2d pad 1 bias", t => Tensor.Conv2d(t[0], t[1], t[2], stride: 1, padding: 1), [(Random(2 * 3 * 7 * 7, 31), [2, 3, 7, 7]), (Random(5 * 3 * 9, 32), [5, 3, 3, 3]), (Random(5, 33), [5])]),
            new("conv2d stride 2", t => Tensor.Conv2d(t[0], t[1], null, stride: 2, padding: 0), [(Random(2 * 3 * 8 * 6, 34), [2, 3, 8, 6]), (Random(4 * 3 * 9, 35), [4, 3, 3, 3])]),
            new("max pool 2", t => t[0].MaxPool2d(2), [(Random(2 * 3 * 6 * 6, 36), [2, 3, 6, 6])]),
            new("avg pool 3/2/1", t => t[0].AvgPool2d(3, 2, 1), [(Random(2 * 3 * 7 * 7, 37), [2, 3, 7, 7])]),
            new("batch norm relu", t => Tensor.BatchNorm2d(t[0], t[1], t[2], null, null, training: true, relu: true), [(Random(4 * 3 * 5 * 5, 41), [4, 3, 5, 5]), (Random(3, 42), [3]), (Random(3, 43), [3])]),
            new("batch norm add", t => Tensor.BatchNorm2d(t[0], t[1], t[2], null, null, training: true, addend: t[3]), [(Random(4 * 3 * 5 * 5, 44), [4, 3, 5, 5]), (Random(3, 45), [3]), (Random(3, 46), [3]), (Random(4 * 3 * 5 * 5, 47), [4, 3, 5, 5])]),
            new("cross entropy", t => Tensor.SoftmaxCrossEntropy(t[0], [3, 0, 6, 6, 1]), [(Random(35, 51, 3f), [5, 7])]),
        };
        if (large)
        {
            checks.Add(new("matmul 1000² (LeNet-sized and larger)", t => Tensor.MatMul(t[0], t[1], transposeB: true), [(Random(1000 * 784, 61), [1000, 784]), (Random(1000 * 784, 62), [1000, 784])], 1e-3f, 1e-3f));
            checks.Add(new("conv2d 64→64 @32, batch 8", t => Tensor.Conv2d(t[0], t[1], null, stride: 1, padding: 1), [(Random(8 * 64 * 32 * 32, 63), [8, 64, 32, 32]), (Random(64 * 64 * 9, 64, 0.05f), [64, 64, 3, 3])], 1e-3f, 1e-3f));
            checks.Add(new("batch norm 128×64×16×16", t => Tensor.BatchNorm2d(t[0], t[1], t[2], null, null, training: true, relu: true), [(Random(128 * 64 * 256, 65), [128, 64, 16, 16]), (Random(64, 66), [64]), (Random(64, 67), [64])], 1e-3f, 1e-3f));
        }

        return checks;
    }

    /// <summary>Runs one op comparison of <paramref name="target"/> against the CPU.</summary>
    public static CheckOutcome Run(BackendCheck check, Device target)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(target);
        var worst = new Worst(check.Atol, check.Rtol);
        var cpu = Leaves(check, Device.Cpu);
        var yc = check.Op(cpu);
        var clock = Stopwatch.StartNew();
        var dev = Leaves(check, target);
        var yd = check.Op(dev);
        if (yd.Device != target)
        {
            return new CheckOutcome(check.Name, false, double.PositiveInfinity, $"result on {yd.Device}, not {target}", clock.Elapsed.TotalSeconds);
        }

        worst.Compare("value", yd, yc);

        // A weighted sum makes every output element's gradient distinct.
        var weights = Random(yc.Size, 99);
        Gradients.Backward((yc * Tensor.FromArray(weights, yc.Shape)).Sum());
        Gradients.Backward((yd * Tensor.FromArray(weights, yd.Shape, target)).Sum());
        for (int i = 0; i < cpu.Length; i++)
        {
            if (dev[i].Grad is not { } g)
            {
                return new CheckOutcome(check.Name, false, double.PositiveInfinity, $"no gradient for input {i}", clock.Elapsed.TotalSeconds);
            }

            worst.Compare($"gradient {i}", g, cpu[i].Grad!);
        }

        return worst.Outcome(check.Name, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The k-th smallest of 10 001 (or, <paramref name="large"/>, 10 000 001) values at several k: exactly the CPU's.</summary>
    public static CheckOutcome Threshold(Device target, bool large = false)
    {
        ArgumentNullException.ThrowIfNull(target);
        int n = large ? 10_000_001 : 10_001;
        var values = Random(n, 71);
        var clock = Stopwatch.StartNew();
        var onDevice = Tensor.FromArray(values, [n], target);
        var onCpu = Tensor.FromArray(values, [n]);
        foreach (int k in new[] { 0, 17, n / 2, n - 1 })
        {
            float got = onDevice.KthSmallest(k), want = onCpu.KthSmallest(k);
            if (BitConverter.SingleToInt32Bits(got) != BitConverter.SingleToInt32Bits(want))
            {
                return new CheckOutcome($"k-th smallest of {n}", false, double.PositiveInfinity, string.Create(CultureInfo.InvariantCulture, $"k = {k}: {got} vs {want}"), clock.Elapsed.TotalSeconds);
            }
        }

        return new CheckOutcome($"k-th smallest of {n}", true, 0, "exact at k = 0, 17, n/2, n−1", clock.Elapsed.TotalSeconds);
    }

    /// <summary>Three steps of Adam, SGD with momentum and Nesterov SGD on a masked parameter: close to the CPU's, pruned weights exactly 0.</summary>
    public static IEnumerable<CheckOutcome> Optimizers(Device target)
    {
        ArgumentNullException.ThrowIfNull(target);
        foreach (string kind in new[] { "adam", "sgd momentum", "sgd nesterov" })
        {
            (Parameter P, Optimizer O) Make(Device d)
            {
                var p = new Parameter(Tensor.FromArray(Random(50, 81), [5, 10], d)) { Mask = Tensor.FromArray(Random(50, 82).Select(v => v > 0 ? 1f : 0f).ToArray(), [5, 10], d) };
                p.ApplyMask();
                Optimizer o = kind == "adam" ? new Adam([p], 1e-2f, weightDecay: 1e-3f) : new Sgd([p], 0.1f, momentum: 0.9f, nesterov: kind == "sgd nesterov", weightDecay: 1e-3f);
                return (p, o);
            }

            var clock = Stopwatch.StartNew();
            var (pc, oc) = Make(Device.Cpu);
            var (pd, od) = Make(target);
            for (int step = 0; step < 3; step++)
            {
                pc.Grad = Tensor.FromArray(Random(50, 90 + step), [5, 10]);
                pd.Grad = Tensor.FromArray(Random(50, 90 + step), [5, 10], target);
                oc.Step();
                od.Step();
            }

            var worst = new Worst(1e-6f, 1e-5f);
            worst.Compare("weights", pd.Value, pc.Value);
            float[] mask = pc.Mask!.ToArray(), got = pd.Value.ToArray();
            int leaked = mask.Where((m, i) => m == 0f && got[i] != 0f).Count();
            yield return leaked > 0
                ? new CheckOutcome(kind, false, double.PositiveInfinity, $"{leaked} pruned weights are not 0", clock.Elapsed.TotalSeconds)
                : worst.Outcome(kind, clock.Elapsed.TotalSeconds);
        }
    }

    /// <summary>Every check: ops, threshold selection and optimizer steps.</summary>
    public static IEnumerable<CheckOutcome> All(Device target, bool large = false)
    {
        foreach (var check in Ops(large))
        {
            yield return Run(check, target);
        }

        yield return Threshold(target, large);
        foreach (var outcome in Optimizers(target))
        {
            yield return outcome;
        }
    }

    private static Tensor[] Leaves(BackendCheck check, Device device) => check.Inputs.Select(i =>
    {
        var t = Tensor.FromArray(i.Values, i.Shape, device);
        t.RequiresGrad = true;
        return t;
    }).ToArray();

    private static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var values = new float[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = (float)((rng.NextDouble() * 2) - 1) * scale;
        }

        return values;
    }

    // The worst |Δ| relative to the tolerance over everything compared.
    private sealed class Worst(float atol, float rtol)
    {
        private double _ratio;
        private string _detail = "all values equal";
        private bool _shapeMismatch;

        public void Compare(string what, Tensor actual, Tensor expected)
        {
            if (!Shape.Equal(actual.Shape, expected.Shape))
            {
                _shapeMismatch = true;
                _detail = $"{what}: shape {Shape.Format(actual.Shape)} vs {Shape.Format(expected.Shape)}";
                return;
            }

            float[] a = actual.ToArray(), e = expected.ToArray();
            for (int i = 0; i < a.Length; i++)
            {
                double ratio = Math.Abs(a[i] - e[i]) / (atol + (rtol * Math.Abs(e[i])));
                if (double.IsNaN(ratio) ? !(float.IsNaN(a[i]) && float.IsNaN(e[i])) : ratio > _ratio)
                {
                    _ratio = double.IsNaN(ratio) ? double.PositiveInfinity : ratio;
                    _detail = string.Create(CultureInfo.InvariantCulture, $"{what}[{i}]: {a[i]:G9} vs {e[i]:G9}");
                }
            }
        }

        public CheckOutcome Outcome(string name, double seconds) =>
            new(name, !_shapeMismatch && _ratio <= 1, _shapeMismatch ? double.PositiveInfinity : _ratio, _detail, seconds);
    }
}
