using SparseNet.Engine.Data;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Optim;
using SparseNet.Engine.Training;

namespace SparseNet.Tests.Engine.Nn;

public class TrainerTests
{
    // Two well separated Gaussian-ish blobs per class in 6 dimensions.
    private static Dataset Blobs(int count, int seed)
    {
        var rng = new System.Random(seed);
        var x = new float[count * 6];
        var y = new int[count];
        for (int i = 0; i < count; i++)
        {
            y[i] = i % 3;
            for (int j = 0; j < 6; j++)
            {
                x[(i * 6) + j] = (float)((rng.NextDouble() - 0.5) + (j == y[i] * 2 ? 2.0 : 0.0));
            }
        }

        return new Dataset(x, y, [6], 3);
    }

    [Test]
    public void Training_LearnsASeparableProblem_Deterministically()
    {
        float[] Run()
        {
            var model = ModelZoo.Create("lenet_300_100", [6], 3, InitScheme.GlorotNormal, 3);
            var trainer = new Trainer(model, new Adam(model.Parameters(), 1e-2f), LearningRateSchedule.Constant(1e-2f), Blobs(300, 1), 20, seed: 9);
            for (int e = 0; e < 3; e++)
            {
                trainer.TrainEpoch(e);
            }

            var eval = Trainer.Evaluate(model, Blobs(150, 2));
            Assert.That(eval.Accuracy, Is.GreaterThan(0.95));
            Assert.That(trainer.Iteration, Is.EqualTo(45));
            return model.StateDict()["fc1.weight"].ToArray();
        }

        float[] first = Run();
        float[] second = Run();
        Assert.That(second, Is.EqualTo(first));
    }

    [Test]
    public void StartingAtIterationK_FromTheWeightsOfK_ContinuesTheScheduleAndDataOrder_BitForBit()
    {
        // 300 examples at batch 20: 15 iterations an epoch; k = 22 lies inside the second epoch.
        const int k = 22, total = 45;
        var data = Blobs(300, 1);
        var schedule = new LearningRateSchedule(0.05f, [30], 0.1f);
        var model = ModelZoo.Create("lenet_300_100", [6], 3, InitScheme.GlorotNormal, 3);
        var dense = new Trainer(model, new Sgd(model.Parameters(), 0.05f), schedule, data, 20, seed: 9);
        Dictionary<string, float[]>? atK = null;
        dense.TrainTo(total, p =>
        {
            if (p.Iteration == k)
            {
                atK = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
            }
        });
        Assert.That(dense.Iteration, Is.EqualTo(total));

        var rewound = ModelZoo.Create("lenet_300_100", [6], 3, InitScheme.GlorotNormal, 77);
        rewound.LoadStateDict(atK!.ToDictionary(kv => kv.Key, kv => SparseNet.Engine.Tensors.Tensor.FromArray(kv.Value, model.StateDict()[kv.Key].Shape)));
        var second = new Trainer(rewound, new Sgd(rewound.Parameters(), 0.05f), schedule, data, 20, seed: 9);
        second.StartAt(k);
        int steps = 0;
        second.TrainTo(total, _ => steps++);
        Assert.That(steps, Is.EqualTo(total - k));
        foreach (var (name, value) in model.StateDict())
        {
            Assert.That(rewound.StateDict()[name].ToArray(), Is.EqualTo(value.ToArray()), name);
        }

        // Training the same steps from iteration 0 instead (the old rewinding) gives other weights.
        var restarted = ModelZoo.Create("lenet_300_100", [6], 3, InitScheme.GlorotNormal, 77);
        restarted.LoadStateDict(atK!.ToDictionary(kv => kv.Key, kv => SparseNet.Engine.Tensors.Tensor.FromArray(kv.Value, model.StateDict()[kv.Key].Shape)));
        new Trainer(restarted, new Sgd(restarted.Parameters(), 0.05f), schedule, data, 20, seed: 9).TrainTo(total - k);
        Assert.That(restarted.StateDict()["fc1.weight"].ToArray(), Is.Not.EqualTo(model.StateDict()["fc1.weight"].ToArray()));
    }

    [Test]
    public void StartAt_AfterASteps_IsRefused()
    {
        var model = ModelZoo.Create("lenet_300_100", [6], 3, InitScheme.GlorotNormal, 3);
        var trainer = new Trainer(model, new Sgd(model.Parameters(), 0.05f), LearningRateSchedule.Constant(0.05f), Blobs(60, 1), 20, seed: 9);
        trainer.TrainTo(2);
        var ex = Assert.Throws<InvalidOperationException>(() => trainer.StartAt(5));
        Assert.That(ex!.Message, Does.Contain("after 2 steps"));
    }

    [Test]
    public void ANonFiniteLoss_StopsTrainingAtThatIteration_WithoutApplyingItsUpdate()
    {
        var model = ModelZoo.Create("lenet_300_100", [6], 3, InitScheme.GlorotNormal, 3);
        var trainer = new Trainer(model, new Adam(model.Parameters(), 1e30f), LearningRateSchedule.Constant(1e30f), Blobs(300, 1), 20, seed: 9);
        var seen = new List<float>();
        double mean = trainer.TrainEpoch(0, p => seen.Add(p.Loss));
        var d = trainer.Divergence;
        Assert.That(d, Is.Not.Null);
        Assert.That(d!.Cause, Is.EqualTo("loss"));
        Assert.That(float.IsFinite(d.Loss), Is.False);
        Assert.That(d.Iteration, Is.EqualTo(trainer.Iteration + 1), "the diverging step is not counted");
        Assert.That(seen, Has.Count.EqualTo(trainer.Iteration).And.All.Matches<float>(float.IsFinite), "only finite steps are reported");
        Assert.That(d.LastFiniteLoss, Is.EqualTo(seen[^1]));
        Assert.That(mean, Is.EqualTo(seen.Average(v => (double)v)).Within(1e-9));
        Assert.That(d.ToString(), Does.StartWith($"training diverged at iteration {d.Iteration} (loss "));

        var weights = model.StateDict()["fc1.weight"].ToArray();
        Assert.That(double.IsNaN(trainer.TrainEpoch(1)), Is.True, "a diverged trainer trains no further");
        Assert.That(model.StateDict()["fc1.weight"].ToArray(), Is.EqualTo(weights));
        Assert.Throws<InvalidOperationException>(() => trainer.Step([0, 1]));
    }
}
