namespace SparseNet.Tests.Engine;

/// <summary>Expected arrays written inline in assertions.</summary>
internal static class Values
{
    // A params call builds a fresh array per call, which CA1861 (constant array arguments) accepts.
    public static T[] Of<T>(params T[] items) => items;
}
