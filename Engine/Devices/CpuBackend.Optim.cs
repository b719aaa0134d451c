using System.Numerics.Tensors;
using SparseNet.Engine.Tensors;
using SparseNet.Kernels.Cpu;
using Tensor = SparseNet.Engine.Tensors.Tensor;

namespace SparseNet.Engine.Devices;

/// <summary>Optimizer steps and training metrics on the CPU.</summary>
internal sealed partial class CpuBackend
{
    // The SGD step direction is built here so the stored gradient stays as backward left it.
    [ThreadStatic]
    private static float[]? t_sgdScratch;

    public void AdamStep(Tensor theta, Tensor grad, Tensor m, Tensor v, float beta1, float beta2, float eps, float weightDecay, float stepSize, float invRootC2) =>
        AdamKernel.Step(D(theta), D(grad), D(m), D(v), beta1, beta2, eps, weightDecay, stepSize, invRootC2);

    public void SgdStep(Tensor theta, Tensor grad, Tensor? velocity, float learningRate, float momentum, bool nesterov, float weightDecay, bool firstStep)
    {
        Span<float> t = D(theta);
        if (t_sgdScratch is null || t_sgdScratch.Length < t.Length)
        {
            t_sgdScratch = new float[t.Length];
        }

        Span<float> g = t_sgdScratch.AsSpan(0, t.Length);
        D(grad).AsSpan().CopyTo(g);
        if (weightDecay != 0f)
        {
            TensorPrimitives.MultiplyAdd(t, weightDecay, g, g);
        }

        if (velocity is not null)
        {
            Span<float> v = D(velocity);
            if (firstStep)
            {
                g.CopyTo(v);
            }
            else
            {
                TensorPrimitives.MultiplyAdd(v, momentum, g, v);
            }

            if (nesterov)
            {
                TensorPrimitives.MultiplyAdd(v, momentum, g, g);
            }
            else
            {
                g = v;
            }
        }

        TensorPrimitives.MultiplyAdd(g, -learningRate, t, t);
    }

    public int CountCorrect(Tensor logits, ReadOnlySpan<int> labels)
    {
        float[] values = D(logits);
        int classes = logits.Shape[^1], correct = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            var row = values.AsSpan(i * classes, classes);
            int best = 0;
            for (int c = 1; c < classes; c++)
            {
                if (row[c] > row[best])
                {
                    best = c;
                }
            }

            if (best == labels[i])
            {
                correct++;
            }
        }

        return correct;
    }

    public bool AllFinite(Tensor a)
    {
        foreach (float v in D(a))
        {
            if (!float.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }
}
