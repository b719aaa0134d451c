namespace SparseNet.Tests;

/// <summary>
/// Keeps the tests (and the processes they start, which inherit the environment) out of the user's cache:
/// data fingerprints go to a temporary directory removed at the end.
/// </summary>
[SetUpFixture]
public sealed class TestEnvironment
{
    private string _cache = string.Empty;

    [OneTimeSetUp]
    public void SetUp()
    {
        _cache = Path.Combine(Path.GetTempPath(), "sparsenet-test-cache-" + Guid.NewGuid().ToString("N"));
        Environment.SetEnvironmentVariable("SPARSENET_CACHE_DIR", _cache);
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        Environment.SetEnvironmentVariable("SPARSENET_CACHE_DIR", null);
        if (Directory.Exists(_cache))
        {
            Directory.Delete(_cache, recursive: true);
        }
    }
}
