using System.Runtime.CompilerServices;

namespace SparseNet.Tests.Engine.Autograd;

/// <summary>
/// <c>await NewThreadAwaiter.Resume()</c> always continues on a thread started for the purpose, so a
/// test can make a flow change threads for certain instead of hoping the pool moves it.
/// </summary>
internal sealed class NewThreadAwaiter : INotifyCompletion
{
    private NewThreadAwaiter()
    {
    }

    public bool IsCompleted => false;

    public static NewThreadAwaiter Resume() => new();

    public NewThreadAwaiter GetAwaiter() => this;

    public void OnCompleted(Action continuation)
    {
        // UnsafeStart: the new thread brings no context of its own, so whatever the continuation sees is
        // what the async machinery flowed, which is what the tests are about.
        var thread = new Thread(() => continuation()) { IsBackground = true, Name = "resume-on-new-thread" };
        thread.UnsafeStart();
    }

    public void GetResult()
    {
    }
}
