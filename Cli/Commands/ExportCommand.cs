using System.CommandLine;
using System.Globalization;
using SparseNet.Engine;
using SparseNet.Engine.Data;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;

namespace SparseNet.Cli.Commands;

/// <summary><c>sparsenet export WEIGHTS</c>: writes a trained (or pruned) model's weights as an ONNX file.</summary>
internal static class ExportCommand
{
    // MNIST's, and Fashion-MNIST's: what the built-in data and the README's commands train on.
    private const int DefaultClasses = 10;

    private static readonly int[] DefaultInputShape = [1, 28, 28];

    public static Command Create()
    {
        var weights = new Argument<string>("WEIGHTS") { Description = "A safetensors checkpoint of the model (final.safetensors of a training or a ticket)" };
        var model = new Option<string>("--model")
        {
            Description = $"Architecture the weights belong to: {ModelZoo.NamesHelp}",
            DefaultValueFactory = _ => "lenet_300_100",
        };
        TrainingOptions.AcceptModelNames(model);
        var onnx = new Option<string>("--onnx") { Description = "The ONNX file to write (replaced if it exists)", Required = true, HelpName = "FILE" };
        var data = new Option<string?>("--data")
        {
            HelpName = "DATASET",
            Description = "Take the input shape and class count from this dataset (mnist-10k, fashion-mnist or a directory of IDX files) instead of --input-shape",
        };
        var inputShape = new Option<string?>("--input-shape")
        {
            HelpName = "SIZES",
            Description = "Shape of one example without the batch dimension, comma-separated (C,H,W for conv2) [default: 1,28,28]",
        };
        var classes = new Option<int?>("--classes") { HelpName = "N", Description = "Number of outputs [default: 10, or the dataset's with --data]" };
        var command = new Command("export", "Write a model's weights as an ONNX file (opset 13) with input 'input' [batch, ...shape] and output 'logits' [batch, classes], computing the model in evaluation mode.")
        {
            weights, model, onnx, data, inputShape, classes,
        };
        command.SetAction(parse => Run(
            parse.GetValue(weights)!,
            parse.GetValue(model)!,
            parse.GetValue(onnx)!,
            parse.GetValue(data),
            parse.GetValue(inputShape),
            parse.GetValue(classes)));
        return command;
    }

    private static int Run(string weightsPath, string modelName, string onnxPath, string? data, string? inputShapeText, int? classesOption)
    {
        if (string.IsNullOrWhiteSpace(weightsPath) || string.IsNullOrWhiteSpace(onnxPath))
        {
            throw new SettingsException("WEIGHTS and --onnx must name files");
        }

        if (data is not null && inputShapeText is not null)
        {
            throw new SettingsException("--data and --input-shape both give the input shape; give one of them");
        }

        if (classesOption is <= 0)
        {
            throw new SettingsException($"--classes must be positive, got {classesOption}");
        }

        int[] shape = inputShapeText is null ? DefaultInputShape : ParseShape(inputShapeText);
        int classes = classesOption ?? DefaultClasses;
        if (data is not null)
        {
            var (train, _) = DatasetCatalog.Load(data);
            shape = train.FeatureShape;
            classes = classesOption ?? train.NumClasses;
        }

        Module model;
        try
        {
            model = ModelZoo.Create(modelName, shape, classes, InitScheme.GlorotNormal, seed: 1);
        }
        catch (ArgumentException e) when (e is not SettingsException)
        {
            // The architecture cannot take this input shape at all (conv2 needs C,H,W).
            throw new SettingsException($"--input-shape {Format(shape)} does not fit {modelName}: {e.Message}");
        }

        try
        {
            Checkpoint.Load(weightsPath, model);
        }
        catch (ArgumentException e)
        {
            // The file is sound but holds another model's weights; say which file and for what it was read.
            throw new InvalidDataException($"'{weightsPath}' does not hold the weights of {modelName} for input {Format(shape)} and {classes} classes: {CliRunner.OneLine(e.Message)}", e);
        }

        OnnxExport.Save(model, shape, onnxPath);
        long total = 0, zeros = 0;
        foreach (var parameter in model.Parameters())
        {
            total += parameter.Size;
            zeros += parameter.Value.ToArray().Count(v => v == 0f);
        }

        CliRunner.Say(string.Create(
            CultureInfo.InvariantCulture,
            $"wrote {onnxPath}: {modelName}, input [batch,{string.Join(',', shape)}] → logits [batch,{classes}], {total} parameters ({zeros} zero), ONNX opset {OnnxExport.OpsetVersion}"));
        return 0;
    }

    private static int[] ParseShape(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var shape = new int[parts.Length];
        long size = 1;
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]) || shape[i] <= 0)
            {
                throw new SettingsException($"--input-shape '{text}': expected positive sizes separated by commas, e.g. 1,28,28");
            }

            size = Math.Min(size * shape[i], (long)int.MaxValue + 1);
        }

        if (size > int.MaxValue)
        {
            throw new SettingsException($"--input-shape '{text}': an example of more than {int.MaxValue} values cannot be held");
        }

        return shape;
    }

    private static string Format(int[] shape) => string.Join(',', shape);
}
