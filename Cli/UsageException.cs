namespace SparseNet.Cli;

/// <summary>A command-line value that parses but makes no sense (reported as a usage error).</summary>
internal sealed class UsageException(string message) : Exception(message);
