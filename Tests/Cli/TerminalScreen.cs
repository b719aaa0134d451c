using System.Text;

namespace SparseNet.Tests.Cli;

/// <summary>
/// A minimal terminal that replays captured output (text, line feeds, carriage returns, the cursor moves and
/// erases a live display uses, automatic wrap at the right edge) into the rows a person would see. Nothing
/// scrolls away: row 0 is the first row ever written. Colours and other styles are ignored.
/// </summary>
internal sealed class TerminalScreen
{
    private readonly int _width;
    private readonly List<StringBuilder> _rows = [];
    private int _row;
    private int _col;

    // A character written in the last column leaves the cursor there; the next printable one wraps first.
    private bool _pendingWrap;

    private TerminalScreen(int width) => _width = width;

    /// <summary>Whether the cursor is shown after the output (ESC[?25l hides it, ESC[?25h shows it).</summary>
    public bool CursorVisible { get; private set; } = true;

    /// <summary>The rows with text, trailing spaces and trailing blank rows removed.</summary>
    public IReadOnlyList<string> Rows
    {
        get
        {
            var rows = _rows.Select(r => r.ToString().TrimEnd()).ToList();
            while (rows.Count > 0 && rows[^1].Length == 0)
            {
                rows.RemoveAt(rows.Count - 1);
            }

            return rows;
        }
    }

    /// <summary>Replays <paramref name="output"/> on a screen <paramref name="width"/> columns wide.</summary>
    public static TerminalScreen Play(string output, int width)
    {
        var screen = new TerminalScreen(width);
        screen.Feed(output);
        return screen;
    }

    private void Feed(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            switch (c)
            {
                case '\u001b':
                    i = Escape(s, i);
                    break;
                case '\r':
                    _col = 0;
                    _pendingWrap = false;
                    break;
                case '\n':
                    // A terminal's line discipline turns a program's "\n" into CR LF.
                    _row++;
                    _col = 0;
                    _pendingWrap = false;
                    break;
                default:
                    if (!char.IsControl(c))
                    {
                        Put(c);
                    }

                    break;
            }
        }
    }

    private void Put(char c)
    {
        if (_pendingWrap)
        {
            _row++;
            _col = 0;
            _pendingWrap = false;
        }

        var row = Row(_row);
        while (row.Length <= _col)
        {
            row.Append(' ');
        }

        row[_col] = c;
        if (_col == _width - 1)
        {
            _pendingWrap = true;
        }
        else
        {
            _col++;
        }
    }

    // Returns the index of the escape sequence's last character.
    private int Escape(string s, int start)
    {
        if (start + 1 >= s.Length)
        {
            return start;
        }

        if (s[start + 1] == ']')
        {
            // Operating system command (hyperlinks): ends with BEL or ESC \.
            int bel = s.IndexOf('\a', start);
            int st = s.IndexOf("\u001b\\", start + 1, StringComparison.Ordinal);
            return bel >= 0 && (st < 0 || bel < st) ? bel : st >= 0 ? st + 1 : s.Length - 1;
        }

        if (s[start + 1] != '[')
        {
            return start + 1;
        }

        int end = start + 2;
        while (end < s.Length && s[end] is >= '\u0020' and <= '\u003f')
        {
            end++;
        }

        string args = s[(start + 2)..end];
        char final = end < s.Length ? s[end] : '\0';
        int n = int.TryParse(args, out int v) ? v : 0;
        switch (final)
        {
            case 'A':
                _row = Math.Max(0, _row - Math.Max(1, n));
                break;
            case 'B':
                _row += Math.Max(1, n);
                break;
            case 'C':
                _col = Math.Min(_width - 1, _col + Math.Max(1, n));
                break;
            case 'D':
                _col = Math.Max(0, _col - Math.Max(1, n));
                break;
            case 'G':
                _col = Math.Clamp(n - 1, 0, _width - 1);
                break;
            case 'H':
                _row = 0;
                _col = 0;
                break;
            case 'J' when n >= 2:
                _rows.Clear();
                break;
            case 'K':
                EraseInLine(n);
                break;
            case 'h' or 'l' when args == "?25":
                CursorVisible = final == 'h';
                break;
            default:
                // Styles and modes do not move anything.
                break;
        }

        if (final != 'm')
        {
            _pendingWrap = false;
        }

        return end;
    }

    private void EraseInLine(int mode)
    {
        var row = Row(_row);
        int from = mode == 0 ? _col : 0;
        int to = mode == 1 ? _col + 1 : row.Length;
        for (int i = from; i < Math.Min(to, row.Length); i++)
        {
            row[i] = ' ';
        }
    }

    private StringBuilder Row(int index)
    {
        while (_rows.Count <= index)
        {
            _rows.Add(new StringBuilder());
        }

        return _rows[index];
    }
}
