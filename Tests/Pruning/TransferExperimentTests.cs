using System.Security.Cryptography;
using SparseNet.Engine;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Training;
using SparseNet.Pruning.Experiments;
using SparseNet.Pruning.Masks;
using SparseNet.Tests.Engine;

namespace SparseNet.Tests.Pruning;

[NonParallelizable]
public class TransferExperimentTests
{
    private string _dir = string.Empty;
    private string _source = string.Empty;

    [OneTimeSetUp]
    public void TrainSource()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sparsenet-transfer-" + Guid.NewGuid().ToString("N"));
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "source-data"), train: 120, test: 40, gzip: false);

        // Other data of the same image size: other pixels, other label order.
        string target = Path.Combine(_dir, "target-data");
        Directory.CreateDirectory(target);
        File.WriteAllBytes(Path.Combine(target, "train-images-idx3-ubyte"), IdxTestFiles.Images(150, 4, 3, i => (byte)((i * 7) % 256)));
        File.WriteAllBytes(Path.Combine(target, "train-labels-idx1-ubyte"), IdxTestFiles.Labels(Enumerable.Range(0, 150).Select(i => (byte)((i * 3) % 10)).ToArray()));
        File.WriteAllBytes(Path.Combine(target, "t10k-images-idx3-ubyte"), IdxTestFiles.Images(40, 4, 3, i => (byte)((i * 5) % 256)));
        File.WriteAllBytes(Path.Combine(target, "t10k-labels-idx1-ubyte"), IdxTestFiles.Labels(Enumerable.Range(0, 40).Select(i => (byte)(i % 10)).ToArray()));
        IdxTestFiles.WriteDataset(Path.Combine(_dir, "wide-data"), train: 120, test: 40, gzip: false, rows: 5, cols: 3);

        _source = Path.Combine(_dir, "source");
        new LotteryExperiment(Config("source-data"), _source).Run(replicates: 2);
    }

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private LotteryConfig Config(string data, InitScheme init = InitScheme.GlorotNormal) => new()
    {
        Recipe = new TrainingRecipe { Data = Path.Combine(_dir, data), Epochs = 1, BatchSize = 16, LearningRate = 5e-3f, ValidationSize = 24, Init = init },
        Levels = 3,
        EvalEvery = 4,
        Branches = [],
        Seed = 3,
    };

    private static string Sha(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static string Unit(string run, int replicate, int level, string branch) => Path.Combine(run, $"replicate_{replicate}", $"level_{level:D2}", branch);

    [Test]
    public void TransferredTicket_IsTheSourcesMaskAndTheta0_AndTheRandomMaskKeepsItsPerLayerCounts()
    {
        string run = Path.Combine(_dir, "target");
        var experiment = new LotteryExperiment(Config("target-data"), run) { Transfer = new TransferSettings { From = _source, Levels = [1, 2] } };
        Assert.That(experiment.UnitCount(2), Is.EqualTo((2 * 3) + (2 * 2 * 2)));
        var summary = experiment.Run(replicates: 2);

        var source = TransferSource.Open(_source);
        string ticket = source.TicketBranch, random = source.RandomBranch;
        Assert.That(ticket, Does.Match("^transfer_[0-9a-f]{6}$"));
        Assert.That(summary.Branches.Keys, Is.SupersetOf(new[] { "lottery", ticket, random }));
        foreach (int r in new[] { 0, 1 })
        {
            foreach (int level in new[] { 1, 2 })
            {
                // The ticket's mask, byte for byte, and its start: the source's θ₀ under that mask (the source level's own init).
                string mine = Unit(run, r, level, ticket), theirs = Unit(_source, r, level, "lottery");
                Assert.That(File.ReadAllBytes(Path.Combine(mine, "mask.safetensors")), Is.EqualTo(File.ReadAllBytes(Path.Combine(theirs, "mask.safetensors"))));
                Assert.That(File.ReadAllBytes(Path.Combine(mine, "init.safetensors")), Is.EqualTo(File.ReadAllBytes(Path.Combine(theirs, "init.safetensors"))));

                // The random mask: the same number of weights in every layer, elsewhere; the same θ₀ at the weights it keeps.
                var sourceMask = SafeTensors.Read(Path.Combine(theirs, "mask.safetensors")).Tensors;
                var randomMask = SafeTensors.Read(Path.Combine(Unit(run, r, level, random), "mask.safetensors")).Tensors;
                var theta0 = SafeTensors.Read(Path.Combine(Unit(_source, r, 0, "lottery"), "init.safetensors")).Tensors;
                var randomInit = SafeTensors.Read(Path.Combine(Unit(run, r, level, random), "init.safetensors")).Tensors;
                Assert.That(randomMask.Keys.Order(), Is.EqualTo(sourceMask.Keys.Order()));
                foreach (var (name, m) in sourceMask)
                {
                    Assert.That(randomMask[name].Data.Count(v => v != 0), Is.EqualTo(m.Data.Count(v => v != 0)), name);
                    Assert.That(randomMask[name].Data, Is.Not.EqualTo(m.Data), name);
                    var kept = Enumerable.Range(0, m.Data.Length).Where(i => randomMask[name].Data[i] != 0).ToList();
                    Assert.That(kept.Select(i => randomInit[name].Data[i]), Is.EqualTo(kept.Select(i => theta0[name].Data[i])), name);
                }

                var result = UnitResult.Load(Path.Combine(Unit(run, r, level, random), "result.json"));
                var sourceResult = UnitResult.Load(Path.Combine(theirs, "result.json"));
                Assert.That(result.LayerWeightsRemaining, Is.EqualTo(sourceResult.LayerWeightsRemaining));
            }
        }

        // The record names every mask and θ₀ by content; the summary puts both branches at the source's densities.
        string record = File.ReadAllText(Path.Combine(run, ticket + ".json"));
        Assert.That(record, Does.Contain(Sha(Path.Combine(Unit(_source, 1, 2, "lottery"), "mask.safetensors"))).And.Contain(Sha(Path.Combine(Unit(_source, 1, 0, "lottery"), "init.safetensors"))));
        Assert.That(summary.Branches[ticket].Select(p => p.WeightsRemaining), Is.EqualTo(summary.Branches["lottery"].Where(p => p.Level > 0).Select(p => p.WeightsRemaining)));
        Assert.That(summary.Branches[random].Select(p => p.Replicates), Is.All.EqualTo(2));

        // Run again: everything is found finished and checked, nothing retrained.
        int retrained = 0;
        new LotteryExperiment(Config("target-data"), run) { Transfer = new TransferSettings { From = _source, Levels = [1, 2] } }.Run(2, p => retrained += p.Iteration > 0 ? 1 : 0);
        Assert.That(retrained, Is.Zero);

        // Results trained from other files of the source (as its record says) are never mixed with new ones.
        string mask = Sha(Path.Combine(Unit(_source, 0, 1, "lottery"), "mask.safetensors"));
        File.WriteAllText(Path.Combine(run, ticket + ".json"), record.Replace(mask, new string('0', 64), StringComparison.Ordinal));
        var e = Assert.Throws<SettingsException>(() => new LotteryExperiment(Config("target-data"), run) { Transfer = new TransferSettings { From = _source, Levels = [1, 2] } }.Run(2));
        Assert.That(e!.Message, Does.Contain("were trained from another mask").And.Contain("replicate 0 level 1").And.Contain(_source).And.Contain(run));
    }

    [Test]
    public void SourceOfAnotherInitialisation_IsRefused_NamingBothRunsAndValues()
    {
        string run = Path.Combine(_dir, "kaiming");
        var e = Assert.Throws<SettingsException>(() => _ = new LotteryExperiment(Config("target-data", InitScheme.KaimingNormal), run) { Transfer = new TransferSettings { From = _source } });
        Assert.That(e!.Message, Does.Contain(_source).And.Contain(run).And.Contain("GlorotNormal").And.Contain("KaimingNormal"));
    }

    [Test]
    public void SourceOfAnotherArchitecture_IsRefusedBeforeTraining_NamingBothRunsAndShapes()
    {
        string run = Path.Combine(_dir, "wide");
        var experiment = new LotteryExperiment(Config("wide-data"), run) { Transfer = new TransferSettings { From = _source, Levels = [2] } };
        var e = Assert.Throws<SettingsException>(() => experiment.Run(1));
        Assert.That(e!.Message, Does.Contain(_source).And.Contain(run).And.Contain("[300,12]").And.Contain("[300,15]"));
        Assert.That(Directory.Exists(Path.Combine(run, "replicate_0")), Is.False, "nothing is trained");
    }

    [Test]
    public void MissingLevelsOrReplicates_AndNonRuns_AreRefused()
    {
        string run = Path.Combine(_dir, "missing");
        Assert.That(() => new LotteryExperiment(Config("target-data"), run) { Transfer = new TransferSettings { From = _source, Levels = [5] } }.Run(1), Throws.TypeOf<SettingsException>().With.Message.Contains("no finished ticket at level 5"));
        Assert.That(() => new LotteryExperiment(Config("target-data"), run) { Transfer = new TransferSettings { From = _source, Levels = [1] } }.Run(3), Throws.TypeOf<SettingsException>().With.Message.Contains("replicate 2 has no finished ticket"));
        Assert.That(() => new LotteryExperiment(Config("target-data"), run) { Transfer = new TransferSettings { From = Path.Combine(_dir, "nowhere") } }, Throws.TypeOf<SettingsException>().With.Message.Contains("no lottery run there"));
    }

    [Test]
    public void DefaultLevels_AreEveryPrunedLevelOfTheSource()
    {
        var experiment = new LotteryExperiment(Config("target-data"), Path.Combine(_dir, "all")) { Transfer = new TransferSettings { From = _source } };
        Assert.That(experiment.TransferLevels, Is.EqualTo(new[] { 1, 2 }));
    }
}
