using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNet.Kernels.Cpu;

/// <summary>The direct sparse convolution kernel shared by the forward pass and the input gradient.</summary>
public static unsafe partial class SparseConvolution
{
    /// <summary>
    /// One stride-1 convolution as the direct kernel sees it: <paramref name="Planes"/> source planes of
    /// <paramref name="Rows"/>×<paramref name="Columns"/> per image, bordered by <paramref name="Top"/> rows and
    /// <paramref name="Left"/> columns (negative crops), convolved with a KH×KW kernel into
    /// <paramref name="Outputs"/> planes of <paramref name="OutRows"/>×<paramref name="OutColumns"/>, vectorised at
    /// <paramref name="Width"/> floats.
    /// </summary>
    private readonly record struct Geometry(int Planes, int Rows, int Columns, int Top, int Left, int Outputs, int OutRows, int OutColumns, int KH, int KW, int Width)
    {
        /// <summary>Row length of the bordered image: every tap of every output vector lies inside a row.</summary>
        public int PaddedRow => OutColumns + KW - 1;

        /// <summary>Rows of a bordered plane.</summary>
        public int PaddedRows => OutRows + KH - 1;

        /// <summary>Floats of a bordered plane.</summary>
        public int PaddedPlane => PaddedRow * PaddedRows;

        /// <summary>Vectors per output row: whole vectors, then one overlapping the last when the row is not a multiple of the width.</summary>
        public int RowVectors => (OutColumns + Width - 1) / Width;

        /// <summary>Output vectors of a plane, rounded up to whole tiles (the last tile repeats its last vector).</summary>
        public int Slots => (OutRows * RowVectors + TileVectors - 1) / TileVectors * TileVectors;
    }

    /// <summary>
    /// Runs the direct kernel over a batch: output channel q of image n is Σ over q's entries e (entries
    /// starts[q·stride] to starts[(q+1)·stride]) of values[e]·(bordered image n shifted by offsets[e]).
    /// </summary>
    private static void RunDirect(Geometry g, int images, int* starts, int startStride, int* offsets, float* values, float* source, float* mask, float* bias, bool relu, float* target, long multiplyAddsPerImage)
    {
        int slots = g.Slots;
        int[] slotOffsets = System.Buffers.ArrayPool<int>.Shared.Rent(2 * slots);
        try
        {
            // Slot s: the output vector it computes (row-major, a row's last vector flush with the row's end) as an
            // offset into the bordered image (for tap 0,0) and into the output plane.
            int rowVectors = g.RowVectors, s = 0;
            for (int r = 0; r < g.OutRows; r++)
            {
                for (int v = 0; v < rowVectors; v++, s++)
                {
                    int column = Math.Min(v * g.Width, g.OutColumns - g.Width);
                    slotOffsets[s] = (r * g.PaddedRow) + column;
                    slotOffsets[slots + s] = (r * g.OutColumns) + column;
                }
            }

            for (; s < slots; s++)
            {
                slotOffsets[s] = slotOffsets[s - 1];
                slotOffsets[slots + s] = slotOffsets[slots + s - 1];
            }

            // Images first; the output channels are split too only when there are too few images to share out.
            int parts = multiplyAddsPerImage * images < SparseLinear.ParallelThreshold ? 1 : KernelWorkers.BalancedParts;
            int groups = parts == 1 ? 1 : Math.Clamp((parts + images - 1) / images, 1, g.Outputs);
            fixed (int* so = slotOffsets)
            {
                var work = new DirectWork(g, starts, startStride, offsets, values, source, mask, bias, relu, target, so, so + slots, slots / TileVectors, groups);
                KernelWorkers.RunRanges(work, images * groups, parts);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(slotOffsets);
        }
    }

    /// <summary>
    /// Units numbered image-major: unit u is the output channels of group u % groups of image u / groups. A range of
    /// units borders each of its images once into the thread's workspace, then computes its channels tile by tile
    /// (every channel of one tile before the next tile, so the few bordered rows a tile reads stay in L1).
    /// </summary>
    private readonly struct DirectWork(
        Geometry g, int* starts, int startStride, int* offsets, float* values, float* source, float* mask, float* bias, bool relu, float* target,
        int* slotIn, int* slotOut, int tiles, int groups) : IRangeWork
    {
        public void Run(int start, int end)
        {
            float* image = ImageScratch((long)g.Planes * g.PaddedPlane);
            int bordered = -1;
            for (int u = start; u < end; u++)
            {
                int n = u / groups, group = u % groups;
                if (n != bordered)
                {
                    nint at = (nint)n * g.Planes * g.Rows * g.Columns;
                    Border(source + at, mask == null ? null : mask + at, g.Planes, g.Rows, g.Columns, g.Top, g.Left, image, g.PaddedRows, g.PaddedRow);
                    bordered = n;
                }

                int q0 = (int)((long)g.Outputs * group / groups), q1 = (int)((long)g.Outputs * (group + 1) / groups);
                float* output = target + ((nint)n * g.Outputs * g.OutRows * g.OutColumns);
                switch (g.Width)
                {
                    case 16: Channels<Vector512<float>, Ops512>(image, output, q0, q1); break;
                    case 8: Channels<Vector256<float>, Ops256>(image, output, q0, q1); break;
                    case 4: Channels<Vector128<float>, Ops128>(image, output, q0, q1); break;
                    default: Channels<float, OpsScalar>(image, output, q0, q1); break;
                }
            }
        }

        private void Channels<TV, TOps>(float* image, float* output, int q0, int q1)
            where TV : struct
            where TOps : struct, IVectorOps<TV>
        {
            nint plane = (nint)g.OutRows * g.OutColumns;
            for (int t = 0; t < tiles; t++)
            {
                int* tileIn = slotIn + (t * TileVectors), tileOut = slotOut + (t * TileVectors);
                for (int q = q0; q < q1; q++)
                {
                    int e0 = starts[q * startStride], e1 = starts[(q + 1) * startStride];
                    Tile<TV, TOps>(tileIn, tileOut, offsets + e0, values + e0, e1 - e0, image, output + (q * plane), bias == null ? null : bias + q, relu);
                }
            }
        }
    }

    /// <summary>
    /// The 8 output vectors of one tile: out[slotOut[i]] = Σ_e values[e]·image[offsets[e] + slotIn[i]], one FMA chain
    /// per lane in entry order, then + bias and ReLU.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<TV, TOps>(int* slotIn, int* slotOut, int* offsets, float* values, int count, float* image, float* output, float* bias, bool relu)
        where TV : struct
        where TOps : struct, IVectorOps<TV>
    {
        float* p0 = image + slotIn[0], p1 = image + slotIn[1], p2 = image + slotIn[2], p3 = image + slotIn[3];
        nint d4 = slotIn[4] - slotIn[0], d5 = slotIn[5] - slotIn[0], d6 = slotIn[6] - slotIn[0], d7 = slotIn[7] - slotIn[0];
        TV zero = TOps.Create(0f);
        TV a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;
        for (int e = 0; e < count; e++)
        {
            nint at = offsets[e];
            TV w = TOps.Create(values[e]);
            float* q = p0 + at;
            a0 = TOps.Fma(w, TOps.Load(q), a0);
            a1 = TOps.Fma(w, TOps.Load(p1 + at), a1);
            a2 = TOps.Fma(w, TOps.Load(p2 + at), a2);
            a3 = TOps.Fma(w, TOps.Load(p3 + at), a3);
            a4 = TOps.Fma(w, TOps.Load(q + d4), a4);
            a5 = TOps.Fma(w, TOps.Load(q + d5), a5);
            a6 = TOps.Fma(w, TOps.Load(q + d6), a6);
            a7 = TOps.Fma(w, TOps.Load(q + d7), a7);
        }

        if (bias != null)
        {
            TV b = TOps.Create(*bias);
            a0 = TOps.Add(a0, b);
            a1 = TOps.Add(a1, b);
            a2 = TOps.Add(a2, b);
            a3 = TOps.Add(a3, b);
            a4 = TOps.Add(a4, b);
            a5 = TOps.Add(a5, b);
            a6 = TOps.Add(a6, b);
            a7 = TOps.Add(a7, b);
        }

        if (relu)
        {
            a0 = TOps.Relu(a0);
            a1 = TOps.Relu(a1);
            a2 = TOps.Relu(a2);
            a3 = TOps.Relu(a3);
            a4 = TOps.Relu(a4);
            a5 = TOps.Relu(a5);
            a6 = TOps.Relu(a6);
            a7 = TOps.Relu(a7);
        }

        TOps.Store(a0, output + slotOut[0]);
        TOps.Store(a1, output + slotOut[1]);
        TOps.Store(a2, output + slotOut[2]);
        TOps.Store(a3, output + slotOut[3]);
        TOps.Store(a4, output + slotOut[4]);
        TOps.Store(a5, output + slotOut[5]);
        TOps.Store(a6, output + slotOut[6]);
        TOps.Store(a7, output + slotOut[7]);
    }
}
