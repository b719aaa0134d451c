using ILGPU;

namespace SparseNet.Kernels.Gpu;

/// <summary>
/// Loads one operand of a GEMM-shaped problem, viewed as [lines × depth] (A: rows of C × k; B: columns of C × k), for
/// the tiled core. Each thread loads 4 elements of every depth tile. Along k (<see cref="AlongK"/>) element e is at
/// (line + 32·e, depth); across, at (line, depth + 2·e). SGEMM reads strided matrices; the convolutions gather the
/// unfolded image on the fly (implicit GEMM).
/// </summary>
/// <remarks>A loader is a mutable struct kept in registers: it may precompute whatever stays fixed for the thread
/// (offsets of its lines, the split of a column into image and position) in <see cref="Start"/>.</remarks>
internal interface IGemmLoader
{
    /// <summary>
    /// Whether the operand is cheapest to read along k (consecutive depths adjacent in memory), which picks how the
    /// threads spread over its tile so a warp's loads coalesce.
    /// </summary>
    bool AlongK { get; }

    /// <summary>Positions element 0 of problem <paramref name="z"/> at (<paramref name="line"/>,
    /// <paramref name="depth"/>); lines from <paramref name="lines"/> and depths from <paramref name="depthEnd"/> on
    /// read as zero.</summary>
    void Start(int z, int line, int depth, int lines, int depthEnd);

    /// <summary>Element <paramref name="e"/> (a constant 0–3) of the current depth tile, or 0 outside the operand.</summary>
    float Load(int e);

    /// <summary>Moves to the next depth tile (depth + <see cref="GemmTiles.BlockK"/>).</summary>
    void Next();
}

/// <summary>Writes the finished elements of C for the tiled core (only inside the problem).</summary>
internal interface IGemmStore
{
    /// <summary>Writes C(row, column) of problem <paramref name="z"/>.</summary>
    void Store(int z, int row, int column, float value);
}

/// <summary>
/// The register-blocked, shared-memory tiled GEMM core that every GEMM-shaped kernel runs: one group of 256 threads
/// computes a 128×128 block of C, each thread an 8×8 micro-tile held in registers, over depth tiles of 8 staged in
/// shared memory.
/// </summary>
/// <remarks>
/// <para>Layout: both staged tiles are depth-major (A's tile transposed while it is stored), rows padded from 128 to
/// 132 floats so the stores of either loading pattern hit 32 distinct banks. A thread's micro-tile is the rows
/// {4·ty .. 4·ty+3, 64+4·ty .. 64+4·ty+3} and the same split of columns by tx, so at every depth it reads its operands
/// as four 16-byte vectors, and a warp (4 rows × 8 columns of threads) reads 4 distinct A vectors and 8 distinct B
/// vectors: one shared-memory wavefront each, no bank conflicts.</para>
/// <para>Pipelining: two shared stages. While a tile is multiplied the next one is read from global memory into
/// registers, then stored into the other stage; one barrier per depth tile.</para>
/// <para>Determinism: each C element is one chain of multiply-adds in increasing depth order, computed by one thread;
/// the same inputs give the same bits on every launch.</para>
/// <para>Grid: X = column blocks, Y = row blocks (strided when there are more than the grid holds), Z = problems
/// (batch items or depth splits), strided likewise.</para>
/// </remarks>
internal static class GemmTiles
{
    /// <summary>Rows of C per group.</summary>
    public const int BlockM = 128;

    /// <summary>Columns of C per group.</summary>
    public const int BlockN = 128;

    /// <summary>Depth of one staged tile.</summary>
    public const int BlockK = 8;

    /// <summary>Threads per group.</summary>
    public const int Threads = 256;

    /// <summary>The most row blocks or problems one grid dimension (Y, Z) holds on CUDA.</summary>
    public const int MaxGridYZ = 65535;

    // Floats per depth row of a staged tile: 128 and 4 of padding (keeps 16-byte alignment, shifts banks by 4).
    private const int Row = 132;
    private const int Row4 = Row / 4;
    private const int BOffset = BlockK * Row;
    private const int Stage = 2 * BlockK * Row;

    /// <summary>
    /// Runs the blocks of this group's grid position. <paramref name="depthChunk"/> 0: every problem runs the whole
    /// depth k; otherwise problem z runs depths [z·depthChunk, min(k, (z+1)·depthChunk)) (a split of k).
    /// </summary>
    public static void Run<TA, TB, TC>(TA loadA, TB loadB, TC store, int m, int n, int k, int problems, int depthChunk)
        where TA : struct, IGemmLoader
        where TB : struct, IGemmLoader
        where TC : struct, IGemmStore
    {
        var tiles = SharedMemory.Allocate<GemmFloat4>(2 * Stage / 4);
        var flat = tiles.Cast<float>();

        int t = Group.IdxX;
        int warp = t >> 5, lane = t & 31;
        int tx = ((warp & 1) << 3) | (lane & 7);
        int ty = ((warp >> 1) << 2) | (lane >> 3);

        // Each thread loads 4 elements of each tile. Along k: 8 threads cover a row's 8 depths, 32 rows per pass.
        // Across: 128 threads cover a depth's 128 rows, 2 depths per pass.
        bool aAlongK = loadA.AlongK, bAlongK = loadB.AlongK;
        int rowA = aAlongK ? t >> 3 : t & 127, depthA = aAlongK ? t & 7 : t >> 7;
        int rowStepA = aAlongK ? 32 : 0, depthStepA = aAlongK ? 0 : 2;
        int colB = bAlongK ? t >> 3 : t & 127, depthB = bAlongK ? t & 7 : t >> 7;
        int colStepB = bAlongK ? 32 : 0, depthStepB = bAlongK ? 0 : 2;
        var la = loadA;
        var lb = loadB;
        int storeA = (depthA * Row) + rowA, storeStepA = (depthStepA * Row) + rowStepA;
        int storeB = BOffset + (depthB * Row) + colB, storeStepB = (depthStepB * Row) + colStepB;

        int rowBlocks = (m + BlockM - 1) / BlockM;
        int col0 = Grid.IdxX * BlockN;
        for (int z = Grid.IdxZ; z < problems; z += Grid.DimZ)
        {
            int kBegin = depthChunk == 0 ? 0 : z * depthChunk;
            int kEnd = depthChunk == 0 ? k : Math.Min(k, kBegin + depthChunk);
            int depthTiles = kEnd > kBegin ? (kEnd - kBegin + BlockK - 1) / BlockK : 0;
            for (int rowBlock = Grid.IdxY; rowBlock < rowBlocks; rowBlock += Grid.DimY)
            {
                int row0 = rowBlock * BlockM;

                var acc = default(GemmAccumulators);

                if (depthTiles > 0)
                {
                    la.Start(z, row0 + rowA, kBegin + depthA, m, kEnd);
                    lb.Start(z, col0 + colB, kBegin + depthB, n, kEnd);
                    float a0 = la.Load(0), a1 = la.Load(1), a2 = la.Load(2), a3 = la.Load(3);
                    float b0 = lb.Load(0), b1 = lb.Load(1), b2 = lb.Load(2), b3 = lb.Load(3);
                    flat[storeA] = a0;
                    flat[storeA + storeStepA] = a1;
                    flat[storeA + (2 * storeStepA)] = a2;
                    flat[storeA + (3 * storeStepA)] = a3;
                    flat[storeB] = b0;
                    flat[storeB + storeStepB] = b1;
                    flat[storeB + (2 * storeStepB)] = b2;
                    flat[storeB + (3 * storeStepB)] = b3;
                    Group.Barrier();

                    for (int tile = 0; tile < depthTiles; tile++)
                    {
                        bool more = tile + 1 < depthTiles;
                        if (more)
                        {
                            // The next tile's global loads are in flight while this one is multiplied.
                            la.Next();
                            lb.Next();
                            a0 = la.Load(0);
                            a1 = la.Load(1);
                            a2 = la.Load(2);
                            a3 = la.Load(3);
                            b0 = lb.Load(0);
                            b1 = lb.Load(1);
                            b2 = lb.Load(2);
                            b3 = lb.Load(3);
                        }

                        // Eight depth steps written out: constant offsets from two sub-views fold into the
                        // shared-memory load instructions.
                        int stage = (tile & 1) * Stage;
                        var at = tiles.SubView((stage / 4) + ty);
                        var bt = tiles.SubView(((stage + BOffset) / 4) + tx);
                        acc.Step(at[0], at[16], bt[0], bt[16]);
                        acc.Step(at[Row4], at[Row4 + 16], bt[Row4], bt[Row4 + 16]);
                        acc.Step(at[2 * Row4], at[(2 * Row4) + 16], bt[2 * Row4], bt[(2 * Row4) + 16]);
                        acc.Step(at[3 * Row4], at[(3 * Row4) + 16], bt[3 * Row4], bt[(3 * Row4) + 16]);
                        acc.Step(at[4 * Row4], at[(4 * Row4) + 16], bt[4 * Row4], bt[(4 * Row4) + 16]);
                        acc.Step(at[5 * Row4], at[(5 * Row4) + 16], bt[5 * Row4], bt[(5 * Row4) + 16]);
                        acc.Step(at[6 * Row4], at[(6 * Row4) + 16], bt[6 * Row4], bt[(6 * Row4) + 16]);
                        acc.Step(at[7 * Row4], at[(7 * Row4) + 16], bt[7 * Row4], bt[(7 * Row4) + 16]);

                        if (more)
                        {
                            // The other stage was last read before the previous barrier: free to overwrite.
                            int next = Stage - stage;
                            flat[next + storeA] = a0;
                            flat[next + storeA + storeStepA] = a1;
                            flat[next + storeA + (2 * storeStepA)] = a2;
                            flat[next + storeA + (3 * storeStepA)] = a3;
                            flat[next + storeB] = b0;
                            flat[next + storeB + storeStepB] = b1;
                            flat[next + storeB + (2 * storeStepB)] = b2;
                            flat[next + storeB + (3 * storeStepB)] = b3;
                        }

                        Group.Barrier();
                    }
                }

                int r = row0 + (4 * ty), ch = col0 + 64 + (4 * tx), cl = col0 + (4 * tx);
                StoreRow(store, z, r, cl, ch, acc.C0L, acc.C0H, m, n);
                StoreRow(store, z, r + 1, cl, ch, acc.C1L, acc.C1H, m, n);
                StoreRow(store, z, r + 2, cl, ch, acc.C2L, acc.C2H, m, n);
                StoreRow(store, z, r + 3, cl, ch, acc.C3L, acc.C3H, m, n);
                StoreRow(store, z, r + 64, cl, ch, acc.C4L, acc.C4H, m, n);
                StoreRow(store, z, r + 65, cl, ch, acc.C5L, acc.C5H, m, n);
                StoreRow(store, z, r + 66, cl, ch, acc.C6L, acc.C6H, m, n);
                StoreRow(store, z, r + 67, cl, ch, acc.C7L, acc.C7H, m, n);
            }
        }
    }

    private static void StoreRow<T>(T store, int z, int row, int low, int high, GemmFloat4 lo, GemmFloat4 hi, int m, int n)
        where T : struct, IGemmStore
    {
        if (row >= m)
        {
            return;
        }

        StoreFour(store, z, row, low, lo, n);
        StoreFour(store, z, row, high, hi, n);
    }

    private static void StoreFour<T>(T store, int z, int row, int column, GemmFloat4 v, int n)
        where T : struct, IGemmStore
    {
        if (column < n)
        {
            store.Store(z, row, column, v.X);
        }

        if (column + 1 < n)
        {
            store.Store(z, row, column + 1, v.Y);
        }

        if (column + 2 < n)
        {
            store.Store(z, row, column + 2, v.Z);
        }

        if (column + 3 < n)
        {
            store.Store(z, row, column + 3, v.W);
        }
    }

    /// <summary>
    /// A thread's 8×8 micro-tile: row i of the tile is CiL (columns 4·tx..4·tx+3) and CiH (64+4·tx..); rows 0–3 are
    /// 4·ty.., rows 4–7 are 64+4·ty... A local of this type lives in registers once the kernel is inlined.
    /// </summary>
    private struct GemmAccumulators
    {
        public GemmFloat4 C0L, C0H, C1L, C1H, C2L, C2H, C3L, C3H, C4L, C4H, C5L, C5H, C6L, C6H, C7L, C7H;

        /// <summary>One depth step: the outer product of 8 A values (al, ah) and 8 B values (bl, bh).</summary>
        public void Step(GemmFloat4 al, GemmFloat4 ah, GemmFloat4 bl, GemmFloat4 bh)
        {
            C0L = GemmFloat4.MultiplyAdd(C0L, al.X, bl);
            C0H = GemmFloat4.MultiplyAdd(C0H, al.X, bh);
            C1L = GemmFloat4.MultiplyAdd(C1L, al.Y, bl);
            C1H = GemmFloat4.MultiplyAdd(C1H, al.Y, bh);
            C2L = GemmFloat4.MultiplyAdd(C2L, al.Z, bl);
            C2H = GemmFloat4.MultiplyAdd(C2H, al.Z, bh);
            C3L = GemmFloat4.MultiplyAdd(C3L, al.W, bl);
            C3H = GemmFloat4.MultiplyAdd(C3H, al.W, bh);
            C4L = GemmFloat4.MultiplyAdd(C4L, ah.X, bl);
            C4H = GemmFloat4.MultiplyAdd(C4H, ah.X, bh);
            C5L = GemmFloat4.MultiplyAdd(C5L, ah.Y, bl);
            C5H = GemmFloat4.MultiplyAdd(C5H, ah.Y, bh);
            C6L = GemmFloat4.MultiplyAdd(C6L, ah.Z, bl);
            C6H = GemmFloat4.MultiplyAdd(C6H, ah.Z, bh);
            C7L = GemmFloat4.MultiplyAdd(C7L, ah.W, bl);
            C7H = GemmFloat4.MultiplyAdd(C7H, ah.W, bh);
        }
    }
}
