using SparseNet.Engine.Autograd;
using SparseNet.Engine.Data;
using SparseNet.Engine.Devices;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Training;

/// <summary>
/// Mini-batch training with softmax cross-entropy. The batch order of epoch e depends only on the seed
/// and e, so a run is reproducible bit for bit and can resume at any epoch; iteration i trains batch
/// i mod B of epoch ⌊i / B⌋ (B batches per epoch), so training can also continue from any iteration
/// (<see cref="StartAt"/>, <see cref="TrainTo"/>), as rewinding does. A loss that is not a finite
/// number stops training at that iteration (its update is not applied) and is recorded in
/// <see cref="Divergence"/>; the weights are checked for non-finite values after every epoch.
/// </summary>
public sealed class Trainer
{
    private readonly Module _model;
    private readonly Optimizer _optimizer;
    private readonly LearningRateSchedule _schedule;
    private readonly BatchSampler _sampler;
    private readonly Dataset _train;

    // Activations and gradients of one step, recycled into the next (see TensorArena).
    private readonly TensorArena _arena = new();
    private float[] _x = [];
    private int[] _y = [];
    private float? _lastFiniteLoss;
    private int _stepsTaken;

    /// <summary>Prepares training of <paramref name="model"/> on <paramref name="train"/>.</summary>
    public Trainer(Module model, Optimizer optimizer, LearningRateSchedule schedule, Dataset train, int batchSize, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(train);
        if (batchSize <= 0)
        {
            throw new ArgumentException($"train: batch size {batchSize} must be positive");
        }

        _model = model;
        _optimizer = optimizer;
        _schedule = schedule;
        _train = train;
        _sampler = new BatchSampler(train.Count, batchSize, shuffle: true, seed);
    }

    /// <summary>Iterations in one epoch.</summary>
    public int IterationsPerEpoch => _sampler.BatchesPerEpoch;

    /// <summary>Iterations done so far (updates applied).</summary>
    public int Iteration { get; private set; }

    /// <summary>
    /// Augmentation applied to each training batch after it is gathered, keyed by (seed, <see cref="Iteration"/>) so a
    /// run continued from iteration k augments as the uninterrupted one did; null (the default) for none.
    /// </summary>
    public RandomCropFlip? Augmentation { get; init; }

    /// <summary>Where training diverged, or null while every loss and weight is finite.</summary>
    public Divergence? Divergence { get; private set; }

    /// <summary>
    /// Sets the iteration counter to <paramref name="iteration"/> before any step, so that the learning-rate schedule
    /// and the data order continue from there (<see cref="TrainTo"/>), as when a run rewound to the weights of
    /// iteration k trains iterations k … T. The optimizer's state is not touched: it starts fresh.
    /// </summary>
    /// <exception cref="InvalidOperationException">Steps were already taken.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="iteration"/> is negative.</exception>
    public void StartAt(int iteration)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iteration);
        if (_stepsTaken > 0)
        {
            throw new InvalidOperationException($"train: cannot start at iteration {iteration} after {_stepsTaken} steps were taken");
        }

        Iteration = iteration;
    }

    /// <summary>
    /// Trains from <see cref="Iteration"/> up to <paramref name="endIteration"/>, iteration i on batch i mod B of
    /// epoch ⌊i / B⌋, checking the weights at the end of every epoch as <see cref="TrainEpoch"/> does. Stops early once
    /// training has diverged (see <see cref="Divergence"/>).
    /// </summary>
    /// <param name="endIteration">Iteration to stop at (the last batch trained is iteration endIteration − 1).</param>
    /// <param name="onIteration">Called after every applied update.</param>
    public void TrainTo(int endIteration, Action<TrainProgress>? onIteration = null)
    {
        _model.Train();
        int batches = _sampler.BatchesPerEpoch;
        while (Iteration < endIteration && Divergence is null)
        {
            int epoch = Iteration / batches, batch = Iteration % batches;
            float loss = Step(_sampler.Batch(epoch, batch));
            if (Divergence is not null)
            {
                break;
            }

            onIteration?.Invoke(new TrainProgress(epoch, Iteration, endIteration, loss));
            if ((Iteration % batches == 0 || Iteration == endIteration) && !WeightsAreFinite(_model))
            {
                Divergence = new Divergence(Iteration, float.NaN, _lastFiniteLoss, "weights");
            }
        }
    }

    /// <summary>
    /// Trains one epoch (0-based <paramref name="epoch"/>) and returns the mean training loss of its batches.
    /// Stops early, returning the mean of the batches trained (NaN if none), once training has diverged.
    /// </summary>
    public double TrainEpoch(int epoch, Action<TrainProgress>? onIteration = null, int totalIterations = 0)
    {
        _model.Train();
        double lossSum = 0;
        int batches = _sampler.BatchesPerEpoch, done = 0;
        for (int b = 0; b < batches && Divergence is null; b++)
        {
            var indices = _sampler.Batch(epoch, b);
            float loss = Step(indices);
            if (Divergence is not null)
            {
                break;
            }

            lossSum += loss;
            done++;
            onIteration?.Invoke(new TrainProgress(epoch, Iteration, totalIterations, loss));
        }

        if (Divergence is null && !WeightsAreFinite(_model))
        {
            Divergence = new Divergence(Iteration, float.NaN, _lastFiniteLoss, "weights");
        }

        return done == 0 ? double.NaN : lossSum / done;
    }

    /// <summary>Whether every parameter of <paramref name="model"/> is a finite number.</summary>
    public static bool WeightsAreFinite(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var p in model.Parameters())
        {
            if (!p.Value.Device.Backend.AllFinite(p.Value))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// One optimisation step on the examples at <paramref name="indices"/>; returns the batch loss. A loss that is
    /// not finite sets <see cref="Divergence"/> and leaves the weights as they were; once diverged, every call throws.
    /// </summary>
    public float Step(ReadOnlySpan<int> indices)
    {
        if (Divergence is not null)
        {
            throw new InvalidOperationException($"train: {Divergence}; no further steps");
        }

        int n = indices.Length, f = _train.FeatureSize;
        if (_x.Length != n * f)
        {
            _x = new float[n * f];
            _y = new int[n];
        }

        _sampler.Gather(_train, indices, _x, _y);
        Augmentation?.Apply(_x, n, _sampler.Seed, Iteration);
        var device = _model.Device;
        _optimizer.ZeroGrad();
        float value;
        using (_arena.Enter())
        {
            var x = Tensor.ForStep(_x, [n, .. _train.FeatureShape], device);
            var loss = Tensor.SoftmaxCrossEntropy(_model.Forward(x), _y);
            value = loss.Item();
            if (!float.IsFinite(value))
            {
                Divergence = new Divergence(Iteration + 1, value, _lastFiniteLoss, "loss");
                return value;
            }

            Gradients.Backward(loss);
        }

        _optimizer.LearningRate = _schedule.RateAt(Iteration);
        _optimizer.Step();
        Iteration++;
        _stepsTaken++;
        _lastFiniteLoss = value;
        return value;
    }

    /// <summary>Mean loss and accuracy of <paramref name="model"/> on <paramref name="data"/>, in evaluation mode.</summary>
    public static EvalResult Evaluate(Module model, Dataset data, int batchSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        bool wasTraining = model.IsTraining;
        model.Eval();
        using var noGrad = GradMode.NoGrad();
        double lossSum = 0;
        int correct = 0, f = data.FeatureSize;
        var device = model.Device;

        // Each batch's activations are recycled into the next (unless the caller is inside an arena scope already).
        var arena = TensorArena.Current is null ? new TensorArena() : null;
        for (int start = 0; start < data.Count; start += batchSize)
        {
            using var scope = arena is null ? default : arena.Enter();
            int n = Math.Min(batchSize, data.Count - start);
            var x = Tensor.Upload(data.Features.AsSpan(start * f, n * f), [n, .. data.FeatureShape], device);
            var labels = data.Labels.AsSpan(start, n);
            var logits = model.Forward(x);
            lossSum += Tensor.SoftmaxCrossEntropy(logits, labels).Item() * (double)n;
            correct += device.Backend.CountCorrect(logits, labels);
        }

        model.Train(wasTraining);
        return data.Count == 0 ? new EvalResult(0, 0, 0) : new EvalResult(lossSum / data.Count, correct / (double)data.Count, data.Count);
    }
}
