using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SparseNet.Engine.Data;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Training;

namespace SparseNet.Cli.Commands;

/// <summary><c>sparsenet train</c>: trains a dense network and writes its summary and final weights.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var o = new TrainingOptions();
        var outDir = new Option<string>("--out")
        {
            Description = "Directory for summary.json and final.safetensors (created if missing)",
            DefaultValueFactory = _ => Path.Combine("runs", "train"),
        };
        var transfer = new TransferOptions();
        var command = new Command("train", "Train a dense network (or, with --transfer-from, a ticket of a lottery run) and report test accuracy per epoch. A training whose loss stops being a finite number ends at that iteration and is recorded as diverged (exit 1).");
        o.AddTo(command);
        command.Options.Add(outDir);
        transfer.AddTo(command);
        command.SetAction(parse => Run(o.Read(parse), o.Seed(parse), o.DataSeed(parse), parse.GetValue(outDir)!, transfer.Read(parse)));
        return command;
    }

    private static int Run(TrainingRecipe s, ulong seed, ulong? dataSeed, string outDir, (string From, int Level, int Replicate, bool Random)? transfer)
    {
        var cancel = CliRunner.Interrupt;

        // Taken first: an --out that cannot be written, or that another training is writing, is found before any work.
        using var held = DirectoryLock.Acquire(outDir, "sparsenet train");
        var (train, test) = DatasetCatalog.Load(s.Data);
        cancel.ThrowIfCancellationRequested();
        if (s.ValidationSize > 0)
        {
            (train, _) = s.HoldOutValidation(train, seed);
        }

        train = s.SelectTrainExamples(train, seed);

        var model = ModelZoo.Create(s.Model, train.FeatureShape, train.NumClasses, s.Init, seed).UseSparse(s.Sparse);
        if (transfer is { } t)
        {
            CliRunner.Say("training " + TransferOptions.Apply(t, model, s, seed, outDir));
        }

        // Initialised (and transferred into) on the host, then moved: a seed gives the same start on every device.
        model.To(s.ResolveDevice());
        var optimizer = s.CreateOptimizer(model);
        var augmentation = s.AugmentationFor(train);
        var trainer = new Trainer(model, optimizer, s.CreateSchedule(s.IterationsPerEpoch(train.Count)), train, s.BatchSize, dataSeed ?? seed) { Augmentation = augmentation };
        int total = trainer.IterationsPerEpoch * s.Epochs;
        CliRunner.Say($"train {s.Model} on {s.Data} ({train.Count} train / {test.Count} test), {s.Epochs} epochs × {trainer.IterationsPerEpoch} iterations, {s.Optimizer} lr {s.LearningRate.ToString(CultureInfo.InvariantCulture)}{(augmentation is null ? string.Empty : ", random crops and flips")}, seed {seed}");

        var history = new List<EpochResult>();
        var clock = Stopwatch.StartNew();
        ProgressDisplay.Run("training", total, (advance, log) =>
        {
            for (int epoch = 0; epoch < s.Epochs && trainer.Divergence is null; epoch++)
            {
                double trainLoss = trainer.TrainEpoch(
                    epoch,
                    p =>
                    {
                        cancel.ThrowIfCancellationRequested();
                        advance($"epoch {epoch + 1}/{s.Epochs} loss {p.Loss:F4}");
                    },
                    total);
                cancel.ThrowIfCancellationRequested();
                var eval = Trainer.Evaluate(model, test);
                history.Add(new EpochResult(epoch + 1, trainer.Iteration, trainLoss, eval));
                log(string.Create(CultureInfo.InvariantCulture, $"epoch {epoch + 1,3}/{s.Epochs}  iteration {trainer.Iteration,6}  train loss {trainLoss:F4}  test loss {eval.Loss:F4}  test accuracy {eval.Accuracy * 100:F2}%"));
            }
        });
        clock.Stop();

        var final = history.Count > 0 ? history[^1].Test : Trainer.Evaluate(model, test);
        var divergence = trainer.Divergence;
        string outcome = divergence is not null ? "diverged" : ChanceLevel.IsAtChance(final.Accuracy, test) ? "at_chance" : "trained";
        string summaryPath = Path.Combine(outDir, "summary.json");
        AtomicFile.WriteAllText(summaryPath, TrainSummary.ToJson(s, seed, final, trainer.Iteration, clock.Elapsed.TotalSeconds, history, outcome, divergence));
        string weightsPath = Path.Combine(outDir, "final.safetensors");
        Checkpoint.Save(weightsPath, model, new Dictionary<string, string> { ["model"] = s.Model, ["seed"] = seed.ToString(CultureInfo.InvariantCulture) });
        if (divergence is not null)
        {
            Console.Error.WriteLine($"error: {divergence}; wrote {summaryPath} and {weightsPath} (the weights at the divergence)");
            return CliRunner.RunError;
        }

        CliRunner.Say(string.Create(CultureInfo.InvariantCulture, $"test accuracy {final.Accuracy * 100:F2}% after {trainer.Iteration} iterations in {clock.Elapsed.TotalSeconds:F1} s"));
        if (outcome == "at_chance")
        {
            CliRunner.Say(string.Create(CultureInfo.InvariantCulture, $"warning: {final.Accuracy * 100:F2}% is no better than always guessing the most common test class ({test.MajorityShare() * 100:F2}%): the network learned nothing (is the learning rate too high?)"));
        }

        CliRunner.Say($"wrote {summaryPath} and {weightsPath}");
        return 0;
    }
}
