using SparseNet.Pruning.Experiments;

namespace SparseNet.Tests;

/// <summary>How <see cref="PublicApiListing"/> writes the kinds of type and member the libraries have or may get.</summary>
public class PublicApiListingTests
{
    private const string Prefix = "SparseNet.Tests.PublicApiListingTests.";

    [Test]
    public void AnUnsealedRecord_ListsItsOwnAndProtectedMembers_ButNoneTheCompilerWrote()
    {
        Assert.That(PublicApiListing.List(typeof(Sample)), Is.EqualTo(new[]
        {
            "Sample [abstract record] : System.IEquatable<SparseNet.Tests.PublicApiListingTests.Sample>",
            "Sample.Changed -> System.EventHandler? [event]",
            "Sample.Count { get; init; } -> int",
            "Sample.Echo<T>(T value, SparseNet.Pruning.Experiments.Shard? shard = null, System.StringComparison how = System.StringComparison.Ordinal, float scale = 0.001f) -> T [virtual]",
            "Sample.Name { get; init; } -> string?",
            "Sample.Pairs { get; protected set; } -> (int Index, (string Key, float[]? Values) Pair)?",
            "Sample.Rate = 0.5 -> double [const]",
            "Sample.Run(ref int a, out long b, in float c, params int[] rest) -> void [protected abstract]",
            "Sample.Sample(int Count, string? Name) [protected]",
            "Sample.Sample(string name) [protected]",
            "Sample.operator +(SparseNet.Tests.PublicApiListingTests.Sample a, SparseNet.Tests.PublicApiListingTests.Sample b) -> SparseNet.Tests.PublicApiListingTests.Sample [static]",
        }.Select(line => Prefix + line)));
    }

    [Test]
    public void OtherKindsOfType_AreNamedByKind_WithTheirMembers()
    {
        var lines = new[] { typeof(Closed), typeof(Small), typeof(IShape), typeof(Combine), typeof(Point), typeof(ListingFixtureExtensions) }
            .SelectMany(PublicApiListing.List);
        Assert.That(lines, Is.EqualTo(new[]
        {
            "Closed [sealed class] : System.IDisposable",
            "Closed.Closed()",
            "Closed.Dispose() -> void",
            "Closed.Id { get; init; } -> string [required]",
            "Closed.Shared -> int [static readonly]",
            "Closed.this[int index] { get; } -> int",
            "Small [enum : byte]",
            "Small.A = 1",
            "Small.B = 2",
            "IShape [interface]",
            "IShape.Area { get; } -> int",
            "IShape.Scale(double by) -> double",
            "Combine(int a, int b) -> int [delegate]",
            "Point [readonly struct]",
            "Point.Point(int x)",
            "Point.X { get; } -> int",
        }.Select(line => Prefix + line).Concat(
        [
            "SparseNet.Tests.ListingFixtureExtensions [static class]",
            "SparseNet.Tests.ListingFixtureExtensions.Twice(this int x) -> int [static]",
        ])));
    }

    public delegate int Combine(int a, int b);

    public enum Small : byte
    {
        A = 1,
        B = 2,
    }

    public interface IShape
    {
        int Area { get; }

        double Scale(double by);
    }

    public abstract record Sample(int Count, string? Name)
    {
        public const double Rate = 0.5;

        internal int _hidden = 1;

        protected Sample(string name)
            : this(0, name)
        {
        }

        public event EventHandler? Changed
        {
            add => _hidden++;
            remove => _hidden--;
        }

        public (int Index, (string Key, float[]? Values) Pair)? Pairs { get; protected set; }

        public static Sample operator +(Sample a, Sample b) => b.Count > a.Count ? b : a;

        public virtual T Echo<T>(T value, Shard? shard = null, StringComparison how = StringComparison.Ordinal, float scale = 1e-3f) => value;

        protected abstract void Run(ref int a, out long b, in float c, params int[] rest);
    }

    public sealed class Closed : IDisposable
    {
        public static readonly int Shared = 1;

        public required string Id { get; init; }

        public int this[int index] => index + Shared;

        public void Dispose()
        {
        }
    }

    public readonly struct Point(int x)
    {
        public int X { get; } = x;
    }
}
