using System.Buffers.Binary;
using System.Text;
using SparseNet.Engine.IO;

namespace SparseNet.Tests.Engine;

public class SafeTensorsTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("sparsenet-st-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    // Builds the expected array inline without tripping CA1861 (constant array arguments).
    private static T[] Arr<T>(params T[] items) => items;

    private static Dictionary<string, SafeTensor> Sample() => new()
    {
        ["layer1.weight"] = new SafeTensor([2, 3], [1f, -2f, 3.5f, float.Epsilon, -0f, 1e30f]),
        ["layer1.bias"] = new SafeTensor([3], [0.1f, 0.2f, 0.3f]),
        ["scale"] = new SafeTensor([], [42f]),
        ["empty"] = new SafeTensor([0], []),
        ["empty2d"] = new SafeTensor([4, 0], []),
    };

    // A file as another writer might produce it: keys in any order, metadata last.
    private static byte[] BuildFile(string header, params float[] data)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length * 4];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        for (int i = 0; i < data.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(8 + json.Length + 4 * i), data[i]);
        }

        return bytes;
    }

    [Test]
    public void WriteThenRead_RoundTripsTensorsScalarsEmptiesAndMetadata()
    {
        string path = Path.Combine(_dir, "model.safetensors");
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["level"] = "3" };
        SafeTensors.Write(path, Sample(), metadata);

        (Dictionary<string, SafeTensor> tensors, Dictionary<string, string> meta) = SafeTensors.Read(path);
        Assert.That(tensors.Keys, Is.EquivalentTo(Sample().Keys));
        foreach ((string name, SafeTensor expected) in Sample())
        {
            Assert.That(tensors[name].Shape, Is.EqualTo(expected.Shape), name);
            Assert.That(tensors[name].Data, Is.EqualTo(expected.Data), name);
        }

        Assert.That(BitConverter.SingleToInt32Bits(tensors["layer1.weight"].Data[4]), Is.EqualTo(BitConverter.SingleToInt32Bits(-0f)));
        Assert.That(meta, Is.EquivalentTo(metadata));
    }

    [Test]
    public void Serialize_IsByteIdenticalAcrossWritesAndInsertionOrders()
    {
        var reversed = Sample().Reverse().ToDictionary(kv => kv.Key, kv => kv.Value);
        byte[] a = SafeTensors.Serialize(Sample());
        byte[] b = SafeTensors.Serialize(reversed);
        Assert.That(b, Is.EqualTo(a));

        string p1 = Path.Combine(_dir, "1.safetensors"), p2 = Path.Combine(_dir, "2.safetensors");
        SafeTensors.Write(p1, Sample());
        SafeTensors.Write(p2, reversed);
        Assert.That(File.ReadAllBytes(p2), Is.EqualTo(File.ReadAllBytes(p1)));
        Assert.That(File.ReadAllBytes(p1), Is.EqualTo(a));
    }

    [Test]
    public void Serialize_ProducesTheDocumentedLayout()
    {
        var tensors = new Dictionary<string, SafeTensor>
        {
            ["b"] = new SafeTensor([2], [1f, 2f]),
            ["a"] = new SafeTensor([], [3f]),
        };
        byte[] bytes = SafeTensors.Serialize(tensors, new Dictionary<string, string> { ["k"] = "v" });

        const string json = "{\"__metadata__\":{\"k\":\"v\"},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        int padded = (json.Length + 7) / 8 * 8;
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(bytes), Is.EqualTo((ulong)padded));
        Assert.That(Encoding.UTF8.GetString(bytes, 8, padded), Is.EqualTo(json.PadRight(padded)));
        Assert.That(bytes, Has.Length.EqualTo(8 + padded + 12));
        Assert.That(BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + padded)), Is.EqualTo(3f));
        Assert.That(BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + padded + 4)), Is.EqualTo(1f));
        Assert.That(BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + padded + 8)), Is.EqualTo(2f));
    }

    [Test]
    public void Read_ParsesAHandBuiltFile()
    {
        byte[] file = BuildFile(
            "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [4, 20]}, "
            + "\"s\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]}, "
            + "\"__metadata__\": {\"format\": \"pt\"}}",
            7f, 1f, 2f, 3f, 4f);
        string path = Path.Combine(_dir, "hand.safetensors");
        File.WriteAllBytes(path, file);

        (Dictionary<string, SafeTensor> tensors, Dictionary<string, string> meta) = SafeTensors.Read(path);
        Assert.That(tensors["w"].Shape, Is.EqualTo(Values.Of(2, 2)));
        Assert.That(tensors["w"].Data, Is.EqualTo(Values.Of(1f, 2f, 3f, 4f)));
        Assert.That(tensors["s"].Shape, Is.Empty);
        Assert.That(tensors["s"].Data, Is.EqualTo(Values.Of(7f)));
        Assert.That(meta["format"], Is.EqualTo("pt"));
    }

    [Test]
    public void Read_MissingFile_NamesThePath()
    {
        string path = Path.Combine(_dir, "nope.safetensors");
        var e = Assert.Throws<FileNotFoundException>(() => SafeTensors.Read(path));
        Assert.That(e!.Message, Does.Contain(path));
    }

    private static readonly object[] Corruptions =
    [
        new object[] { "too short", new byte[] { 1, 2, 3 }, "too short" },
        new object[] { "header beyond file", BuildLength(1000, "{}"), "larger than" },
        new object[] { "absurd header", BuildLength(200_000_000, "{}"), "exceeds" },
        new object[] { "bad json", BuildFile("{\"w\": {"), "not valid JSON" },
        new object[] { "not an object", BuildFile("[1,2]"), "must be a JSON object" },
        new object[] { "other dtype", BuildFile("{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 0f), "tensor 'h': dtype F16" },
        new object[] { "missing dtype", BuildFile("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 0f), "'dtype'" },
        new object[] { "negative dim", BuildFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 0f), "negative dimension -1" },
        new object[] { "fractional dim", BuildFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 0f), "not an integer" },
        new object[] { "overflowing shape", BuildFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,4],\"data_offsets\":[0,4]}}", 0f), "more elements" },
        new object[] { "offsets vs shape", BuildFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 0f, 0f), "span 8 bytes but shape [3] of F32 needs 12" },
        new object[] { "reversed offsets", BuildFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 0f), "0 <= begin <= end" },
        new object[] { "offsets past end", BuildFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0f), "run past the 4-byte data buffer" },
        new object[] { "overlap", BuildFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 0f, 0f), "overlap" },
        new object[] { "gap", BuildFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 0f, 0f), "gap" },
        new object[] { "trailing bytes", BuildFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0f, 0f), "cover 4 bytes but the data buffer holds 8" },
        new object[] { "metadata not strings", BuildFile("{\"__metadata__\":{\"k\":1}}"), "entry 'k' must be a string" },
        new object[] { "duplicate name", BuildFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}"), "names 'a' twice" },
    ];

    private static byte[] BuildLength(ulong declared, string header)
    {
        byte[] file = BuildFile(header);
        BinaryPrimitives.WriteUInt64LittleEndian(file, declared);
        return file;
    }

    [TestCaseSource(nameof(Corruptions))]
    public void Read_RejectsCorruptFilesWithAClearMessage(string what, byte[] file, string expectedMessage)
    {
        string path = Path.Combine(_dir, "bad.safetensors");
        File.WriteAllBytes(path, file);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(path), what);
        Assert.That(e!.Message, Does.Contain(expectedMessage), what);
        Assert.That(e.Message, Does.Contain(path), what);
    }

    [Test]
    public void Write_RejectsDataThatDoesNotMatchTheShapeAndReservedNames()
    {
        var mismatch = new Dictionary<string, SafeTensor> { ["w"] = new SafeTensor([2, 2], [1f, 2f, 3f]) };
        var e = Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(mismatch));
        Assert.That(e!.Message, Does.Contain("'w' shape [2,2] needs 4 values but data has 3"));

        var negative = new Dictionary<string, SafeTensor> { ["w"] = new SafeTensor([-1], []) };
        Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(negative));

        var reserved = new Dictionary<string, SafeTensor> { ["__metadata__"] = new SafeTensor([], [1f]) };
        Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(reserved));
    }

    [Test]
    public void Deserialize_ReadsWhatSerializeWrote()
    {
        (Dictionary<string, SafeTensor> tensors, Dictionary<string, string> meta) = SafeTensors.Deserialize(SafeTensors.Serialize(Sample()));
        Assert.That(tensors["layer1.bias"].Data, Is.EqualTo(Values.Of(0.1f, 0.2f, 0.3f)));
        Assert.That(meta, Is.Empty);
    }
}
