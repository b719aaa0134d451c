namespace SparseNet.Engine.Training;

/// <summary>Mean cross-entropy loss and accuracy of a model on a dataset.</summary>
public readonly record struct EvalResult(double Loss, double Accuracy, int Count);
