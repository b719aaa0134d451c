using SparseNet.Engine.Data;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Tensors;
using SparseNet.Engine.Training;

namespace SparseNet.Tests.Engine;

public class AugmentedTrainingTests
{
    // A linear classifier that records every input it is given.
    private sealed class Recorder : Module
    {
        private readonly Linear _fc;

        public Recorder(int features, int classes) => _fc = RegisterModule("fc", new Linear(features, classes));

        public List<float[]> Inputs { get; } = [];

        public override Tensor Forward(Tensor input)
        {
            Inputs.Add(input.ToArray());
            return _fc.Forward(input.Flatten());
        }
    }

    private static Dataset Images(int count) =>
        new(Enumerable.Range(0, count * 16).Select(i => (float)i).ToArray(), Enumerable.Range(0, count).Select(i => i % 2).ToArray(), [1, 4, 4], 2);

    [Test]
    public void TrainingBatches_AreAugmentedKeyedBySeedAndIteration_EvaluationIsNot()
    {
        const ulong seed = 21;
        Dataset data = Images(8);
        var augmentation = new RandomCropFlip([1, 4, 4], padding: 1, padValues: [-7f]);
        var model = new Recorder(16, 2);
        var trainer = new Trainer(model, new Sgd(model.Parameters(), 0.01f, 0f, false, 0f), LearningRateSchedule.Constant(0.01f), data, 4, seed) { Augmentation = augmentation };
        trainer.TrainEpoch(0);
        trainer.TrainEpoch(1);
        Assert.That(model.Inputs, Has.Count.EqualTo(4));

        var sampler = new BatchSampler(8, 4, shuffle: true, seed);
        for (int iteration = 0; iteration < 4; iteration++)
        {
            var expected = new float[64];
            sampler.Gather(data, sampler.Batch(iteration / 2, iteration % 2), expected, new int[4]);
            augmentation.Apply(expected, 4, seed, iteration);
            Assert.That(model.Inputs[iteration], Is.EqualTo(expected), $"iteration {iteration}");
        }

        Assert.That(model.Inputs.SelectMany(x => x), Does.Contain(-7f), "some padding was drawn");
        model.Inputs.Clear();
        Trainer.Evaluate(model, data);
        Assert.That(model.Inputs.Single(), Is.EqualTo(data.Features));
    }

    [Test]
    public void WithoutAugmentation_TheGatheredBatchIsTrainedAsIs()
    {
        Dataset data = Images(8);
        var model = new Recorder(16, 2);
        var trainer = new Trainer(model, new Sgd(model.Parameters(), 0.01f, 0f, false, 0f), LearningRateSchedule.Constant(0.01f), data, 8, seed: 3);
        trainer.TrainEpoch(0);
        Assert.That(model.Inputs.Single().Order(), Is.EqualTo(data.Features.Order()));
    }
}
