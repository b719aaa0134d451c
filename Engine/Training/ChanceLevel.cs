using SparseNet.Engine.Data;

namespace SparseNet.Engine.Training;

/// <summary>
/// Whether a trained classifier learned anything: its accuracy against always guessing the test set's most
/// common class. A training whose loss stays finite but huge (learning rates of 10 to 100 with Adam) ends here,
/// and saying so beats reporting 10% as a result.
/// </summary>
public static class ChanceLevel
{
    /// <summary>Margin above the majority-class share still counted as chance (one percentage point).</summary>
    public const double Margin = 0.01;

    /// <summary>True when <paramref name="accuracy"/> on <paramref name="test"/> is no better than guessing its most common class (within <see cref="Margin"/>).</summary>
    public static bool IsAtChance(double accuracy, Dataset test)
    {
        ArgumentNullException.ThrowIfNull(test);
        return !(accuracy > test.MajorityShare() + Margin);
    }
}
