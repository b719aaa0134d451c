using System.Text;

namespace SparseNet.Reporting;

/// <summary>A plain-text table with right-aligned columns, for the analysis sections of a report.</summary>
internal static class TextTable
{
    /// <summary>Shown where a value was not recorded or cannot be computed.</summary>
    public const string Missing = "—";

    /// <summary>The header row, a rule, then the rows; columns two spaces apart, every cell padded to its column.</summary>
    public static string Format(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        int[] widths = header.Select((h, c) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[c].Length))).ToArray();
        var text = new StringBuilder();
        string Line(IReadOnlyList<string> cells) => string.Join("  ", cells.Select((cell, c) => cell.PadLeft(widths[c])));
        string head = Line(header);
        text.Append(head).Append('\n').Append(new string('-', head.Length)).Append('\n');
        foreach (var row in rows)
        {
            text.Append(Line(row)).Append('\n');
        }

        return text.ToString();
    }
}
