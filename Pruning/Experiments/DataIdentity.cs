using SparseNet.Engine.Data;

namespace SparseNet.Pruning.Experiments;

/// <summary>The content fingerprint of a dataset spec, as it enters a run's identity.</summary>
internal static class DataIdentity
{
    public static string Fingerprint(string spec) => "pending:" + spec;
}
