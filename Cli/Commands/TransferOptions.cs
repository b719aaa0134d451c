using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Tensors;
using SparseNet.Engine.Training;
using SparseNet.Pruning.Experiments;
using SparseNet.Pruning.Masks;
using SparseNet.Pruning.Strategies;

namespace SparseNet.Cli.Commands;

/// <summary>
/// <c>train --transfer-from RUN_DIR --transfer-level L</c>: train one ticket of a lottery run (its mask and θ₀) on this
/// command's data instead of a dense network, or (<c>--transfer-random</c>) a random mask of its per-layer densities
/// on the same θ₀. What was trained is kept in <c>transfer.json</c> beside the weights, the mask and θ₀ named by content.
/// </summary>
internal sealed class TransferOptions
{
    private readonly Option<string?> _from = new("--transfer-from")
    {
        Description = "A finished lottery run of the same model and initialisation: train its ticket (mask and θ₀ of --transfer-replicate at --transfer-level) on --data instead of the dense network",
    };

    private readonly Option<int?> _level = new("--transfer-level") { Description = "The --transfer-from run's level whose ticket is trained (required with --transfer-from)" };

    private readonly Option<int> _replicate = new("--transfer-replicate") { Description = "The --transfer-from run's replicate whose ticket is trained", DefaultValueFactory = _ => 0 };

    private readonly Option<bool> _random = new("--transfer-random") { Description = "Train a random mask of the ticket's per-layer densities (drawn from --seed) on the same θ₀ instead of the ticket's own mask" };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _from, _level, _replicate, _random })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>What to transfer, or null without <c>--transfer-from</c>.</summary>
    public (string From, int Level, int Replicate, bool Random)? Read(ParseResult parse)
    {
        if (parse.GetValue(_from) is not { } from)
        {
            return parse.GetValue(_level) is null && !parse.GetValue(_random) ? null : throw new UsageException("--transfer-level and --transfer-random need --transfer-from");
        }

        int level = parse.GetValue(_level) ?? throw new UsageException("--transfer-from needs --transfer-level: which of the run's levels to train");
        return (from, level, parse.GetValue(_replicate), parse.GetValue(_random));
    }

    /// <summary>
    /// Loads the ticket's θ₀ into <paramref name="model"/> and attaches its mask (or the random one), after checking the
    /// source against the recipe; writes <c>transfer.json</c> into <paramref name="outDir"/>. Returns a line saying what it did.
    /// </summary>
    public static string Apply((string From, int Level, int Replicate, bool Random) transfer, Module model, TrainingRecipe recipe, ulong seed, string outDir)
    {
        var source = TransferSource.Open(transfer.From);
        if (source.RewindIteration != 0)
        {
            throw new Engine.SettingsException(string.Create(CultureInfo.InvariantCulture, $"--transfer-from '{transfer.From}': its tickets rewind to iteration {source.RewindIteration}; train starts at iteration 0, so transfer them with `lottery --rewind-iteration {source.RewindIteration} --transfer-from`"));
        }

        // train takes the source's unpruned layers, and its rewind iteration is 0 (checked above).
        source.CheckTarget(recipe.Model, recipe.Init.ToString(), rewindIteration: null, exclude: null, outDir);
        var layers = PrunableLayers.Find(model, source.Exclude);
        var ticket = source.Ticket(transfer.Replicate, transfer.Level, model, layers, outDir);
        var mask = transfer.Random ? TransferSource.RandomMask(ticket, seed, transfer.Level) : ticket.Mask;
        model.LoadStateDict(ticket.Start.ToDictionary(kv => kv.Key, kv => Tensor.FromArray(kv.Value.Data, kv.Value.Shape), StringComparer.Ordinal));
        mask.Apply(model);

        AtomicFile.WriteAllText(Path.Combine(outDir, "transfer.json"), JsonText.Indented(w =>
        {
            w.WriteStartObject();
            w.WriteString("source", source.Directory);
            w.WriteString("source_id", source.Id);
            w.WriteNumber("replicate", transfer.Replicate);
            w.WriteNumber("level", transfer.Level);
            w.WriteString("mask", transfer.Random ? "random, same per-layer densities" : "ticket");
            w.WriteString("source_mask_sha256", ticket.MaskSha256);
            w.WriteString("theta0_sha256", ticket.StartSha256);
            w.WriteNumber("weights_remaining", mask.Density);
            w.WriteEndObject();
        }));
        return string.Create(CultureInfo.InvariantCulture, $"{(transfer.Random ? "a random mask of the per-layer densities of" : "the ticket of")} {transfer.From} replicate {transfer.Replicate} level {transfer.Level} ({100 * mask.Density:F1}% of weights) from its θ₀");
    }
}
