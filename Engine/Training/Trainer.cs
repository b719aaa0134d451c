using SparseNet.Engine.Autograd;
using SparseNet.Engine.Data;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Tensors;

namespace SparseNet.Engine.Training;

/// <summary>
/// Mini-batch training with softmax cross-entropy. The batch order of epoch e depends only on the seed
/// and e, so a run is reproducible bit for bit and can resume at any epoch.
/// </summary>
public sealed class Trainer
{
    private readonly Module _model;
    private readonly Optimizer _optimizer;
    private readonly LearningRateSchedule _schedule;
    private readonly BatchSampler _sampler;
    private readonly Dataset _train;
    private float[] _x = [];
    private int[] _y = [];

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

    /// <summary>Iterations done so far.</summary>
    public int Iteration { get; private set; }

    /// <summary>Trains one epoch (0-based <paramref name="epoch"/>) and returns the mean training loss.</summary>
    public double TrainEpoch(int epoch, Action<TrainProgress>? onIteration = null, int totalIterations = 0)
    {
        _model.Train();
        double lossSum = 0;
        int batches = _sampler.BatchesPerEpoch;
        for (int b = 0; b < batches; b++)
        {
            var indices = _sampler.Batch(epoch, b);
            float loss = Step(indices);
            lossSum += loss;
            onIteration?.Invoke(new TrainProgress(epoch, Iteration, totalIterations, loss));
        }

        return batches == 0 ? 0 : lossSum / batches;
    }

    /// <summary>One optimisation step on the examples at <paramref name="indices"/>; returns the batch loss.</summary>
    public float Step(ReadOnlySpan<int> indices)
    {
        int n = indices.Length, f = _train.FeatureSize;
        if (_x.Length != n * f)
        {
            _x = new float[n * f];
            _y = new int[n];
        }

        _sampler.Gather(_train, indices, _x, _y);
        var x = Tensor.Wrap(_x, [n, .. _train.FeatureShape]);
        _optimizer.ZeroGrad();
        var loss = Tensor.SoftmaxCrossEntropy(_model.Forward(x), _y);
        Autograd.Autograd.Backward(loss);
        _optimizer.LearningRate = _schedule.RateAt(Iteration);
        _optimizer.Step();
        Iteration++;
        return loss.Item();
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
        for (int start = 0; start < data.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, data.Count - start);
            var x = Tensor.FromArray(data.Features.AsSpan(start * f, n * f), [n, .. data.FeatureShape]);
            var labels = data.Labels.AsSpan(start, n);
            var logits = model.Forward(x);
            lossSum += Tensor.SoftmaxCrossEntropy(logits, labels).Item() * (double)n;
            var values = logits.Span;
            int classes = logits.Shape[1];
            for (int i = 0; i < n; i++)
            {
                var row = values.Slice(i * classes, classes);
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
        }

        model.Train(wasTraining);
        return data.Count == 0 ? new EvalResult(0, 0, 0) : new EvalResult(lossSum / data.Count, correct / (double)data.Count, data.Count);
    }
}
