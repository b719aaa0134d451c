using SparseNet.Pruning.Experiments;
using SparseNet.Reporting;

namespace SparseNet.Tests.Pruning;

public class SanityTableTests
{
    private static LevelPoint P(int level, double remaining, double accuracy) => new(level, remaining, accuracy, 0, 100, 0, accuracy, 0, 1);

    [Test]
    public void SanityBranches_AreTheMethodsChecks_NotImpBaselines()
    {
        Assert.That(SanityTable.IsSanityBranch("snip_shuffled"), Is.True);
        Assert.That(SanityTable.IsSanityBranch("grasp_inverted"), Is.True);
        Assert.That(SanityTable.IsSanityBranch("random_reinit"), Is.False);
        Assert.That(SanityTable.IsSanityBranch("shuffle"), Is.False);
        Assert.That(SanityTable.IsSanityBranch("snip"), Is.False);
        Assert.That(SanityTable.IsSanityBranch("random_reinitialized"), Is.True);
    }

    [Test]
    public void Table_PutsEachMaskBesideItsChecks()
    {
        var summary = new ExperimentSummary(new Dictionary<string, IReadOnlyList<LevelPoint>>
        {
            ["snip"] = [P(950, 0.05, 0.9427), P(980, 0.02, 0.92)],
            ["snip_shuffled"] = [P(950, 0.05, 0.9283)],
            ["snip_reinitialized"] = [P(950, 0.05, 0.9398)],
            ["snip_inverted"] = [P(950, 0.05, 0.4865)],
            ["lottery"] = [P(0, 1, 0.96), P(12, 0.0695, 0.958), P(13, 0.056, 0.957)],
            ["random_reinit"] = [P(0, 1, 0.96), P(12, 0.0695, 0.9403)],
            ["shuffle"] = [P(0, 1, 0.96), P(12, 0.0695, 0.9318)],
        });
        string table = SanityTable.Format(summary);
        var lines = table.Split('\n');
        Assert.That(lines.Single(l => l.StartsWith("snip ", StringComparison.Ordinal)), Does.Contain("94.27").And.Contain("92.83").And.Contain("93.98").And.Contain("48.65"));
        Assert.That(lines.Single(l => l.StartsWith("lottery", StringComparison.Ordinal)), Does.Contain("7.0").And.Contain("95.80").And.Contain("93.18").And.Contain("94.03"));
        Assert.That(SanityTable.Format(summary.Where(b => b is "lottery")), Is.Empty);
        Assert.That(lines[0], Is.EqualTo("Sanity checks (test accuracy %): pruning at initialisation at 95% sparsity, IMP tickets at 7.0% weights remaining (level 12; the nearest to 7.0%)"));
    }

    [Test]
    public void Header_NamesTheImpLevelShown_WhenARunStoppedShortOfTheOneAskedFor()
    {
        // Two pruned levels only: 64.1% remaining is the nearest there is to 7%.
        var summary = new ExperimentSummary(new Dictionary<string, IReadOnlyList<LevelPoint>>
        {
            ["lottery"] = [P(0, 1, 0.96), P(1, 0.8, 0.962), P(2, 0.641, 0.961)],
            ["random_reinit"] = [P(0, 1, 0.96), P(1, 0.8, 0.955), P(2, 0.641, 0.95)],
        });
        var lines = SanityTable.Format(summary).Split('\n');
        Assert.That(lines[0], Is.EqualTo("Sanity checks (test accuracy %): IMP tickets at 64.1% weights remaining (level 2; the nearest to 7.0%)"));
        Assert.That(lines.Single(l => l.StartsWith("lottery", StringComparison.Ordinal)), Does.Contain("64.1").And.Contain("96.10").And.Contain("95.00"));
    }
}
