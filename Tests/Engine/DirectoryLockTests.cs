using SparseNet.Engine.IO;

namespace SparseNet.Tests.Engine;

public class DirectoryLockTests
{
    [Test]
    public void ASecondHolder_IsRefusedNamingTheFirst_UntilItLetsGo()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sparsenet-lock-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (DirectoryLock.Acquire(dir, "first"))
            {
                Assert.That(DirectoryLock.IsHeld(dir), Is.True);
                var ex = Assert.Throws<DirectoryLockedException>(() => DirectoryLock.Acquire(dir, "second"));
                Assert.That(ex!.Message, Does.Contain(dir).And.Contain($"pid {Environment.ProcessId} (first)"));
            }

            Assert.That(DirectoryLock.IsHeld(dir), Is.False);
            using (DirectoryLock.Acquire(dir, "second"))
            {
                Assert.That(DirectoryLock.ReadHolder(dir), Does.Contain("(second)"));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void ADirectoryThatCannotBeCreated_IsAnIOErrorNamingIt()
    {
        string file = Path.GetTempFileName();
        try
        {
            var ex = Assert.Throws<IOException>(() => DirectoryLock.Acquire(Path.Combine(file, "x"), "t"));
            Assert.That(ex!.Message, Does.StartWith($"cannot write in '{Path.Combine(file, "x")}'"));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
