namespace SparseNet.Reporting;

/// <summary>
/// The order in which reports list branches and the colour each branch gets, so that the same
/// branch looks the same in every table and plot of every experiment.
/// </summary>
internal static class BranchOrder
{
    // The ticket first, then its two controls, then the other known branches alphabetically.
    // Known branches own a palette slot whether or not an experiment has them, so a colour
    // never moves when a branch is added to or missing from a run.
    private static readonly string[] Known =
    [
        "lottery", "random_reinit", "random_prune",
        "dense", "grasp", "magnitude", "random", "snip", "synflow",
    ];

    // Category10 (matplotlib's default cycle), the colours readers of LTH plots are used to.
    private static readonly string[] Palette =
    [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ];

    /// <summary>Branch names in report order: lottery, random_reinit, random_prune, then the rest alphabetically (ordinal).</summary>
    public static IReadOnlyList<string> Sort(IEnumerable<string> names) =>
        names.OrderBy(Rank).ThenBy(n => n, StringComparer.Ordinal).ToList();

    /// <summary>The hex colour (<c>#rrggbb</c>) of a branch among the branches shown with it.</summary>
    public static string Color(string name, IEnumerable<string> allShown)
    {
        int known = Array.IndexOf(Known, name);
        if (known >= 0)
        {
            return Palette[known];
        }

        // Unknown names share the slots after the known ones, in alphabetical order.
        var unknown = allShown.Where(n => Array.IndexOf(Known, n) < 0).Distinct().OrderBy(n => n, StringComparer.Ordinal).ToList();
        int slot = Known.Length + Math.Max(0, unknown.IndexOf(name));
        return Palette[slot % Palette.Length];
    }

    private static int Rank(string name) => name switch
    {
        "lottery" => 0,
        "random_reinit" => 1,
        "random_prune" => 2,
        _ => 3,
    };
}
