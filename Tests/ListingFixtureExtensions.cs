namespace SparseNet.Tests;

/// <summary>An extension method for <see cref="PublicApiListingTests"/> to list (they must be top-level).</summary>
public static class ListingFixtureExtensions
{
    public static int Twice(this int x) => 2 * x;
}
