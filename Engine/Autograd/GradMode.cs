namespace SparseNet.Engine.Autograd;

/// <summary>
/// Switch deciding whether ops are recorded for autograd. The switch belongs to the logical call
/// context (it flows across <c>await</c>, into <see cref="Task.Run(Action)"/> and into parallel
/// loops started inside a scope), not to the OS thread that happens to run the code.
/// </summary>
public static class GradMode
{
    // An AsyncLocal, not a [ThreadStatic]: a scope held across an await may resume on another pool
    // thread, and a thread-static depth would then stay raised on the thread it left (turning off
    // recording for whatever runs there next) while the resumed code sees that thread's value instead.
    // A value set inside an async method or a task does not leak back into its caller either.
    private static readonly AsyncLocal<int> s_disabledDepth = new();

    /// <summary>True when ops are being recorded in the current logical call context.</summary>
    public static bool IsEnabled => s_disabledDepth.Value == 0;

    /// <summary>Turns recording off until the returned scope is disposed (scopes nest).</summary>
    public static NoGradScope NoGrad()
    {
        s_disabledDepth.Value++;
        return new NoGradScope(true);
    }

    /// <summary>Turns recording on (even inside a no-grad scope) until the returned scope is disposed.</summary>
    public static EnableGradScope EnableGrad() => new(Swap(0));

    internal static void Leave() => s_disabledDepth.Value--;

    internal static int Swap(int depth)
    {
        int old = s_disabledDepth.Value;
        s_disabledDepth.Value = depth;
        return old;
    }
}
