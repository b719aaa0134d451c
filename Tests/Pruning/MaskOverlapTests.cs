using SparseNet.Pruning.Masks;

namespace SparseNet.Tests.Pruning;

public class MaskOverlapTests
{
    private static float[] Mask(int n, params int[] kept)
    {
        var m = new float[n];
        foreach (int i in kept)
        {
            m[i] = 1f;
        }

        return m;
    }

    [Test]
    public void HandConstructedMasks_GiveTheCountedOverlapAndChance()
    {
        // a: n = 10, A keeps {0..4} (p = 0.5), B keeps {0, 5, 6, 7} (q = 0.4): |A∩B| = 1, |A∪B| = 8.
        // b: n = 4, A keeps all (p = 1), B keeps {3} (q = 0.25): |A∩B| = 1, |A∪B| = 4.
        var a = new MaskSet([("a.weight", [10], Mask(10, 0, 1, 2, 3, 4)), ("b.weight", [2, 2], Mask(4, 0, 1, 2, 3))]);
        var b = new MaskSet([("a.weight", [10], Mask(10, 0, 5, 6, 7)), ("b.weight", [2, 2], Mask(4, 3))]);

        var rows = MaskOverlap.Compare(a, b);

        Assert.That(rows.Select(r => r.Name), Is.EqualTo(new[] { "a.weight", "b.weight", MaskOverlap.Overall }));
        var (la, lb, all) = (rows[0], rows[1], rows[2]);
        Assert.That((la.Size, la.KeptA, la.KeptB, la.Intersection, la.Union), Is.EqualTo((10L, 5L, 4L, 1L, 8L)));
        Assert.That(la.Jaccard, Is.EqualTo(1.0 / 8));

        // Chance: E|A∩B| = p·q·n = 0.5·0.4·10 = 2; Jaccard pq/(p+q−pq) = 0.2/0.7 = 2/7.
        Assert.That(la.ChanceIntersection, Is.EqualTo(2.0));
        Assert.That(la.ChanceJaccard, Is.EqualTo(2.0 / 7));
        Assert.That(la.ChanceJaccard, Is.EqualTo(0.5 * 0.4 / (0.5 + 0.4 - (0.5 * 0.4))).Within(1e-15));

        Assert.That((lb.Intersection, lb.Union), Is.EqualTo((1L, 4L)));
        Assert.That(lb.Jaccard, Is.EqualTo(0.25));
        Assert.That(lb.ChanceIntersection, Is.EqualTo(1.0));
        Assert.That(lb.ChanceJaccard, Is.EqualTo(1.0 / 4));

        // Overall: counts and expectations summed over layers: 2 shared of 12 kept by either; chance 3 of 9 + 5 − 3.
        Assert.That((all.Size, all.KeptA, all.KeptB, all.Intersection, all.Union), Is.EqualTo((14L, 9L, 5L, 2L, 12L)));
        Assert.That(all.Jaccard, Is.EqualTo(2.0 / 12));
        Assert.That(all.ChanceIntersection, Is.EqualTo(3.0));
        Assert.That(all.ChanceJaccard, Is.EqualTo(3.0 / 11));
    }

    [Test]
    public void IdenticalMasks_OverlapCompletely()
    {
        var a = new MaskSet([("w", [6], Mask(6, 1, 4))]);
        var rows = MaskOverlap.Compare(a, a);
        Assert.That(rows.Select(r => r.Jaccard), Is.All.EqualTo(1.0));
        Assert.That(rows[0].ChanceJaccard, Is.EqualTo((2.0 * 2 / 6) / (4 - (2.0 * 2 / 6))));
    }

    [Test]
    public void MasksOfDifferentLayersOrShapes_AreRefused()
    {
        var a = new MaskSet([("w", [6], Mask(6, 1))]);
        Assert.That(() => MaskOverlap.Compare(a, new MaskSet([("v", [6], Mask(6, 1))])), Throws.ArgumentException.With.Message.Contains("different tensors"));
        Assert.That(() => MaskOverlap.Compare(a, new MaskSet([("w", [2, 3], Mask(6, 1))])), Throws.ArgumentException.With.Message.Contains("[6]").And.Message.Contains("[2,3]"));
    }
}
