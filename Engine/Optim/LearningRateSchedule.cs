namespace SparseNet.Engine.Optim;

/// <summary>
/// Learning rate as a function of the iteration: a base rate, multiplied by γ at each milestone
/// (step and multi-step schedules), after an optional linear warm-up from 0.
/// </summary>
public sealed class LearningRateSchedule
{
    private readonly int[] _milestones;

    /// <summary>Creates a schedule.</summary>
    /// <param name="baseRate">Rate before any milestone.</param>
    /// <param name="milestones">Iterations at which the rate is multiplied by <paramref name="gamma"/>.</param>
    /// <param name="gamma">Decay factor at each milestone.</param>
    /// <param name="warmupIterations">The rate grows linearly from baseRate/warmup to baseRate over these iterations.</param>
    public LearningRateSchedule(float baseRate, IEnumerable<int>? milestones = null, float gamma = 0.1f, int warmupIterations = 0)
    {
        _milestones = (milestones ?? []).ToArray();
        if (_milestones.Any(m => m <= 0) || !_milestones.SequenceEqual(_milestones.Order()))
        {
            throw new ArgumentException($"lr schedule: milestones [{string.Join(",", _milestones)}] must be positive and increasing");
        }

        if (warmupIterations < 0 || !(gamma > 0f) || !(baseRate >= 0f))
        {
            throw new ArgumentException($"lr schedule: warm-up {warmupIterations} must be ≥ 0, gamma {gamma} > 0, rate {baseRate} ≥ 0");
        }

        BaseRate = baseRate;
        Gamma = gamma;
        WarmupIterations = warmupIterations;
    }

    /// <summary>A constant rate.</summary>
    public static LearningRateSchedule Constant(float rate) => new(rate);

    /// <summary>Multiplies the rate by γ every <paramref name="stepSize"/> iterations, up to <paramref name="totalIterations"/>.</summary>
    public static LearningRateSchedule Step(float rate, int stepSize, float gamma, int totalIterations)
    {
        if (stepSize <= 0)
        {
            throw new ArgumentException($"lr schedule: step size {stepSize} must be positive");
        }

        var milestones = new List<int>();
        for (int m = stepSize; m < totalIterations; m += stepSize)
        {
            milestones.Add(m);
        }

        return new LearningRateSchedule(rate, milestones, gamma);
    }

    /// <summary>Rate before decay and warm-up.</summary>
    public float BaseRate { get; }

    /// <summary>Decay factor per milestone.</summary>
    public float Gamma { get; }

    /// <summary>Linear warm-up length.</summary>
    public int WarmupIterations { get; }

    /// <summary>The milestones.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <summary>The rate for iteration <paramref name="iteration"/> (0-based).</summary>
    public float RateAt(int iteration)
    {
        float rate = BaseRate;
        foreach (int m in _milestones)
        {
            if (iteration >= m)
            {
                rate *= Gamma;
            }
        }

        if (iteration < WarmupIterations)
        {
            rate *= (iteration + 1) / (float)WarmupIterations;
        }

        return rate;
    }
}
