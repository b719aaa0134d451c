using System.Reflection;

namespace SparseNet.Tests;

/// <summary>
/// The public surface of each shipped library, compared with the listing checked in under
/// <c>Tests/PublicApi/</c>, so that every change to it shows up in review as a change to that file.
/// </summary>
public class PublicApiTests
{
    private const string UpdateVariable = "SPARSENET_UPDATE_PUBLIC_API";
    private const int DiffLinesShown = 40;

    [TestCase("SparseNet.Kernels")]
    [TestCase("SparseNet.Engine")]
    [TestCase("SparseNet.Pruning")]
    [TestCase("SparseNet.Reporting")]
    public void PublicApi_MatchesTheApprovedListing(string assemblyName)
    {
        var actual = PublicApiListing.List(Assembly.Load(new AssemblyName(assemblyName)));
        string path = Path.Combine(ApprovedDirectory(), assemblyName + ".txt");
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);

            // One '\n' after every line whatever the platform, so the file is the same bytes everywhere.
            File.WriteAllText(path, string.Concat(actual.Select(line => line + "\n")));
            TestContext.Out.WriteLine($"wrote {path}; review the change with git diff");
            return;
        }

        var approved = File.Exists(path)
            ? File.ReadAllText(path).ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            : [];
        var removed = approved.Except(actual, StringComparer.Ordinal).Select(line => "- " + line);
        var added = actual.Except(approved, StringComparer.Ordinal).Select(line => "+ " + line);
        var diff = removed.Concat(added).OrderBy(line => line[2..], StringComparer.Ordinal).ThenBy(line => line, StringComparer.Ordinal).ToList();
        if (diff.Count == 0 && approved.SequenceEqual(actual, StringComparer.Ordinal))
        {
            return;
        }

        string shown = diff.Count == 0 ? "(the same lines, in another order)" : string.Join("\n", diff.Take(DiffLinesShown));
        string more = diff.Count > DiffLinesShown ? $"\n… and {diff.Count - DiffLinesShown} more" : string.Empty;
        string what = File.Exists(path) ? $"differs from {path}" : $"has no approved listing: {path} is missing";
        Assert.Fail(
            $"The public API of {assemblyName} {what} (- approved, + now):\n{shown}{more}\n\n"
            + $"If the change is intended, rewrite the listings with\n"
            + $"  {UpdateVariable}=1 dotnet test -c Release --filter FullyQualifiedName~PublicApiTests\n"
            + "and review and commit the change to Tests/PublicApi/ with the code.");
    }

    // The listings live in the source tree (not the build output), so an update lands where git sees it.
    private static string ApprovedDirectory()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SparseNet.sln")))
            {
                return Path.Combine(dir.FullName, "Tests", "PublicApi");
            }
        }

        throw new DirectoryNotFoundException($"no SparseNet.sln above {TestContext.CurrentContext.TestDirectory}; run the tests from the repository");
    }
}
