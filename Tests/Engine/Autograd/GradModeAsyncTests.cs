using System.Collections.Concurrent;
using SparseNet.Engine.Autograd;
using SparseNet.Engine.Tensors;

namespace SparseNet.Tests.Engine.Autograd;

/// <summary>
/// Grad mode belongs to the logical flow: a scope held across awaits stays in force wherever the flow
/// resumes, and never leaks onto the threads it leaves or into unrelated concurrent work.
/// </summary>
public class GradModeAsyncTests
{
    private const int Flows = 50;

    private static Tensor Param(params float[] values)
    {
        var t = Tensor.FromArray(values, values.Length);
        t.RequiresGrad = true;
        return t;
    }

    [Test]
    public async Task NoGrad_held_across_awaits_follows_the_flow_and_leaves_other_tasks_alone()
    {
        var wrong = new ConcurrentQueue<string>();
        int resumedElsewhere = 0;

        async Task NoGradFlow(int id)
        {
            using (GradMode.NoGrad())
            {
                for (int step = 0; step < 6; step++)
                {
                    int before = Environment.CurrentManagedThreadId;
                    switch (step % 3)
                    {
                        case 0: await Task.Yield(); break;
                        case 1: await Task.Delay(10); break;
                        default: await NewThreadAwaiter.Resume(); break;
                    }

                    if (Environment.CurrentManagedThreadId != before)
                    {
                        Interlocked.Increment(ref resumedElsewhere);
                    }

                    if (GradMode.IsEnabled)
                    {
                        wrong.Enqueue($"no-grad flow {id}: enabled after await {step}");
                    }
                }
            }

            if (!GradMode.IsEnabled)
            {
                wrong.Enqueue($"no-grad flow {id}: still disabled after its scope ended");
            }
        }

        async Task ObserverFlow(int id)
        {
            for (int step = 0; step < 12; step++)
            {
                if (!GradMode.IsEnabled)
                {
                    wrong.Enqueue($"observer {id}: disabled at step {step}");
                }

                if (step % 2 == 0)
                {
                    await Task.Yield();
                }
                else
                {
                    await Task.Delay(5);
                }
            }

            if (!GradMode.IsEnabled)
            {
                wrong.Enqueue($"observer {id}: disabled at the end");
            }
        }

        // Task.Run leaves the test runner's synchronization context behind, so continuations land on pool threads.
        var tasks = new List<Task>();
        for (int i = 0; i < Flows; i++)
        {
            int id = i;
            tasks.Add(Task.Run(() => NoGradFlow(id)));
            tasks.Add(Task.Run(() => ObserverFlow(id)));
        }

        await Task.WhenAll(tasks);

        Assert.That(wrong, Is.Empty);
        Assert.That(resumedElsewhere, Is.GreaterThanOrEqualTo(2 * Flows), "each flow hops to a new thread twice");
        Assert.That(GradMode.IsEnabled, Is.True);
    }

    [Test]
    public async Task NoGrad_on_one_flow_does_not_stop_recording_on_the_thread_it_left()
    {
        var x = Param(1, 2, 3);
        using var queue = new BlockingCollection<Action>();
        var worker = new Thread(() =>
        {
            foreach (Action work in queue.GetConsumingEnumerable())
            {
                work();
            }
        })
        { IsBackground = true, Name = "grad-mode-worker" };
        worker.Start();

        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holderStarted = new TaskCompletionSource<Task<bool>>(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task<bool> HoldNoGrad()
        {
            using (GradMode.NoGrad())
            {
                entered.SetResult();

                // Resumes on a pool thread: the worker is left behind while this scope is still open.
                await release.Task;
                return (x * x).RequiresGrad;
            }
        }

        queue.Add(() => holderStarted.SetResult(HoldNoGrad()));
        Task<bool> holder = await holderStarted.Task;
        await entered.Task;

        // Unrelated work on the very thread where the scope was opened, and on the pool, while it is open.
        var onWorker = new TaskCompletionSource<(bool Enabled, bool Recorded)>(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.Add(() => onWorker.SetResult((GradMode.IsEnabled, (x * x).RequiresGrad)));
        (bool workerEnabled, bool workerRecorded) = await onWorker.Task;
        bool poolRecorded = await Task.Run(() => (x * x).RequiresGrad);

        release.SetResult();
        bool recordedInsideScope = await holder;
        queue.CompleteAdding();
        worker.Join();

        Assert.That(workerEnabled, Is.True);
        Assert.That(workerRecorded, Is.True);
        Assert.That(poolRecorded, Is.True);
        Assert.That(recordedInsideScope, Is.False);
    }

    [Test]
    public Task Nested_scopes_across_awaits_restore_in_order() => Task.Run(async () =>
    {
        var x = Param(1, 2);
        Assert.That(GradMode.IsEnabled, Is.True);
        using (GradMode.NoGrad())
        {
            await Task.Yield();
            Assert.That(GradMode.IsEnabled, Is.False);
            using (GradMode.EnableGrad())
            {
                await Task.Delay(10);
                Assert.That(GradMode.IsEnabled, Is.True);
                Assert.That((x * x).RequiresGrad, Is.True);
                using (GradMode.NoGrad())
                {
                    await NewThreadAwaiter.Resume();
                    Assert.That(GradMode.IsEnabled, Is.False);
                    using (GradMode.NoGrad())
                    {
                        await Task.Yield();
                    }

                    Assert.That(GradMode.IsEnabled, Is.False);
                }

                await NewThreadAwaiter.Resume();
                Assert.That(GradMode.IsEnabled, Is.True);
            }

            await Task.Delay(1);
            Assert.That(GradMode.IsEnabled, Is.False);
            Assert.That((x * x).RequiresGrad, Is.False);

            // A callee's scopes, even one it never closes, end with the callee.
            Assert.That(await EnableGradAcrossAwait(), Is.True);
            Assert.That(GradMode.IsEnabled, Is.False);
            await LeaveNoGradOpen();
            Assert.That(GradMode.IsEnabled, Is.False);
        }

        Assert.That(GradMode.IsEnabled, Is.True);
        await LeaveNoGradOpen();
        Assert.That(GradMode.IsEnabled, Is.True);
        Assert.That((x * x).RequiresGrad, Is.True);
    });

    private static async Task<bool> EnableGradAcrossAwait()
    {
        using (GradMode.EnableGrad())
        {
            await NewThreadAwaiter.Resume();
            return GradMode.IsEnabled;
        }
    }

    private static async Task LeaveNoGradOpen()
    {
        _ = GradMode.NoGrad();
        await Task.Yield();
    }
}
