namespace SparseNet.Engine.Autograd;

/// <summary>Per-thread switch deciding whether ops are recorded for autograd.</summary>
public static class GradMode
{
    [ThreadStatic]
    private static int t_disabledDepth;

    /// <summary>True when ops are being recorded on this thread.</summary>
    public static bool IsEnabled => t_disabledDepth == 0;

    /// <summary>Turns recording off until the returned scope is disposed (scopes nest).</summary>
    public static NoGradScope NoGrad()
    {
        t_disabledDepth++;
        return new NoGradScope(true);
    }

    /// <summary>Turns recording on (even inside a no-grad scope) until the returned scope is disposed.</summary>
    public static EnableGradScope EnableGrad() => new(Swap(0));

    internal static void Leave() => t_disabledDepth--;

    internal static int Swap(int depth)
    {
        int old = t_disabledDepth;
        t_disabledDepth = depth;
        return old;
    }
}
