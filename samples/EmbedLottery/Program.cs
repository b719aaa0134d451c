// Finds a lottery ticket in LeNet-300-100 with the SparseNet packages: train, prune the smallest weights,
// reset the survivors to their initial values, repeat; then save the ticket and load it back.
using SparseNet.Engine.Data;
using SparseNet.Engine.IO;
using SparseNet.Engine.Nn;
using SparseNet.Engine.Training;
using SparseNet.Pruning.Masks;
using SparseNet.Pruning.Strategies;

var (train, test) = DatasetCatalog.Load("mnist-10k");   // built into the package: 8,000 train / 2,000 test digits
var recipe = new TrainingRecipe { Epochs = 2 };          // LeNet-300-100, Adam 1.2e-3, batch 60
const ulong seed = 1;

// The same seed always gives the same initial weights θ₀: every level starts from them again.
Module Initial() => ModelZoo.Create(recipe.Model, train.FeatureShape, train.NumClasses, recipe.Init, seed);

var mask = MaskSet.Dense(PrunableLayers.Find(Initial()));
Module ticket = Initial();
MaskSet ticketMask = mask;
for (int level = 0; level < 4; level++)
{
    var model = Initial();
    mask.Apply(model);   // pruned weights are zero and stay zero through training
    var trainer = new Trainer(model, recipe.CreateOptimizer(model), recipe.CreateSchedule(recipe.IterationsPerEpoch(train.Count)), train, recipe.BatchSize, seed);
    for (int epoch = 0; epoch < recipe.Epochs; epoch++)
    {
        trainer.TrainEpoch(epoch);
    }

    Console.WriteLine($"level {level}: {mask.Density:P1} of weights, test accuracy {Trainer.Evaluate(model, test).Accuracy:P2}");
    (ticket, ticketMask) = (model, mask);

    // Prune 20% of each layer's surviving weights by magnitude (10% of the output layer).
    var scores = PrunableLayers.Find(model).ToDictionary(l => l.Name, l => l.Parameter.Value.ToArray().Select(MathF.Abs).ToArray());
    mask = MagnitudePruner.Layerwise(mask, scores, name => name == "fc3.weight" ? 0.1 : 0.2);
}

// Save the sparsest trained network (weights and mask, as safetensors) and load it into a fresh model.
string dir = Directory.CreateTempSubdirectory("sparsenet-ticket-").FullName;
Checkpoint.Save(Path.Combine(dir, "ticket.safetensors"), ticket);
ticketMask.Save(Path.Combine(dir, "mask.safetensors"));

var reloaded = Initial();
Checkpoint.Load(Path.Combine(dir, "ticket.safetensors"), reloaded);
MaskSet.Load(Path.Combine(dir, "mask.safetensors"), PrunableLayers.Find(reloaded)).Apply(reloaded);
double accuracy = Trainer.Evaluate(reloaded, test).Accuracy;
if (accuracy != Trainer.Evaluate(ticket, test).Accuracy)
{
    Console.Error.WriteLine("the reloaded ticket differs from the saved one");
    return 1;
}

Console.WriteLine($"ticket: {ticketMask.Density:P1} of weights, test accuracy {accuracy:P2} after reloading from {dir}");
return 0;
