using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace SparseNet.Tests;

/// <summary>
/// Lists the public surface of an assembly, one line per type and member, sorted ordinally, for
/// <see cref="PublicApiTests"/>.
/// </summary>
/// <remarks>
/// A line starts with the full name, so a type and its members sort together, followed by the member's
/// signature, <c>-&gt; type</c> for what it returns or holds, and its modifiers in brackets:
/// <code>
/// SparseNet.Engine.Devices.Device [sealed class]
/// SparseNet.Engine.Devices.Device.Device(string name, SparseNet.Engine.Devices.IBackend backend)
/// SparseNet.Engine.Devices.Device.Get(string name) -> SparseNet.Engine.Devices.Device [static]
/// SparseNet.Engine.Tensors.Tensor.Grad { get; set; } -> SparseNet.Engine.Tensors.Tensor?
/// </code>
/// Listed: public types (nested ones too) and their public members, and protected members of public types
/// that can be derived from. Members the compiler writes (a record's equality, <c>ToString</c>,
/// <c>Deconstruct</c> and clone method, accessors, backing fields) are left out: the type's kind
/// (<c>record</c>) stands for them. Nullable reference types carry <c>?</c> (type parameters never do);
/// generic constraints and attributes are not shown.
/// </remarks>
public static class PublicApiListing
{
    private const BindingFlags Declared =
        BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;

    private static readonly Dictionary<Type, string> s_keywords = new()
    {
        [typeof(void)] = "void", [typeof(object)] = "object", [typeof(string)] = "string", [typeof(bool)] = "bool",
        [typeof(char)] = "char", [typeof(byte)] = "byte", [typeof(sbyte)] = "sbyte", [typeof(short)] = "short",
        [typeof(ushort)] = "ushort", [typeof(int)] = "int", [typeof(uint)] = "uint", [typeof(long)] = "long",
        [typeof(ulong)] = "ulong", [typeof(float)] = "float", [typeof(double)] = "double", [typeof(decimal)] = "decimal",
        [typeof(nint)] = "nint", [typeof(nuint)] = "nuint",
    };

    private static readonly Dictionary<string, string> s_operators = new(StringComparer.Ordinal)
    {
        ["op_Addition"] = "operator +", ["op_Subtraction"] = "operator -", ["op_Multiply"] = "operator *",
        ["op_Division"] = "operator /", ["op_Modulus"] = "operator %", ["op_UnaryNegation"] = "operator -",
        ["op_UnaryPlus"] = "operator +", ["op_LogicalNot"] = "operator !", ["op_OnesComplement"] = "operator ~",
        ["op_Equality"] = "operator ==", ["op_Inequality"] = "operator !=", ["op_LessThan"] = "operator <",
        ["op_GreaterThan"] = "operator >", ["op_LessThanOrEqual"] = "operator <=", ["op_GreaterThanOrEqual"] = "operator >=",
        ["op_BitwiseAnd"] = "operator &", ["op_BitwiseOr"] = "operator |", ["op_ExclusiveOr"] = "operator ^",
        ["op_LeftShift"] = "operator <<", ["op_RightShift"] = "operator >>", ["op_Increment"] = "operator ++",
        ["op_Decrement"] = "operator --", ["op_True"] = "operator true", ["op_False"] = "operator false",
        ["op_Implicit"] = "implicit operator", ["op_Explicit"] = "explicit operator",
    };

    /// <summary>The sorted lines describing the public surface of <paramref name="assembly"/>.</summary>
    public static IReadOnlyList<string> List(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);

        // NullabilityInfoContext caches per instance and is not thread-safe: one per listing.
        var context = new NullabilityInfoContext();
        var lines = new List<string>();
        foreach (var type in assembly.GetTypes().Where(IsVisible))
        {
            lines.AddRange(List(type, context));
        }

        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    /// <summary>The sorted lines of one type and its members (not its nested types).</summary>
    public static IReadOnlyList<string> List(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var lines = List(type, new NullabilityInfoContext()).ToList();
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private static IEnumerable<string> List(Type type, NullabilityInfoContext context) =>
        MemberLines(type, context).Prepend(TypeLine(type, context));

    private static bool IsVisible(Type type)
    {
        // Unspeakable names ('<>c', extension block markers) belong to the compiler, whatever their visibility.
        if (type.Name.Contains('<', StringComparison.Ordinal) || type.IsDefined(typeof(CompilerGeneratedAttribute), inherit: false))
        {
            return false;
        }

        if (!type.IsNested)
        {
            return type.IsPublic;
        }

        var outer = type.DeclaringType!;
        return IsVisible(outer) && (type.IsNestedPublic || ((type.IsNestedFamily || type.IsNestedFamORAssem) && IsDerivable(outer)));
    }

    private static bool IsDerivable(Type type) => type.IsClass && !type.IsSealed;

    private static string TypeLine(Type type, NullabilityInfoContext context)
    {
        string name = TypeName(type, declaration: true);
        if (type.IsSubclassOf(typeof(Delegate)))
        {
            var invoke = type.GetMethod("Invoke")!;
            return $"{name}({Parameters(invoke, context)}) -> {Returns(invoke, context)} [delegate]";
        }

        if (type.IsEnum)
        {
            var underlying = Enum.GetUnderlyingType(type);
            return underlying == typeof(int) ? $"{name} [enum]" : $"{name} [enum : {Format(underlying, null, null)}]";
        }

        var bases = new List<string>();
        var baseType = type.BaseType;
        if (baseType is not null && baseType != typeof(object) && baseType != typeof(ValueType))
        {
            bases.Add(Format(baseType, null, null));
        }

        // Interfaces the base type brings are the base type's API, not this type's.
        var inherited = baseType?.GetInterfaces() ?? [];
        bases.AddRange(type.GetInterfaces()
            .Where(i => IsPublicType(i) && !inherited.Contains(i))
            .Select(i => Format(i, null, null))
            .Order(StringComparer.Ordinal));
        string inheritance = bases.Count == 0 ? string.Empty : " : " + string.Join(", ", bases);
        return $"{name} [{TypeKind(type)}]{inheritance}";
    }

    // A public type may implement an internal interface (or one over internal types); callers cannot see those.
    private static bool IsPublicType(Type type) =>
        type.HasElementType
            ? IsPublicType(type.GetElementType()!)
            : type.IsGenericParameter
              || ((type.IsPublic || (type.IsNestedPublic && IsPublicType(type.DeclaringType!)))
                  && (!type.IsGenericType || type.GetGenericArguments().All(IsPublicType)));

    private static string TypeKind(Type type)
    {
        bool isReadOnly = HasAttribute(type, "System.Runtime.CompilerServices.IsReadOnlyAttribute");
        if (type.IsInterface)
        {
            return "interface";
        }

        if (type.IsValueType)
        {
            string kind = IsRecord(type) ? "record struct" : "struct";
            kind = type.IsByRefLike ? "ref " + kind : kind;
            return isReadOnly ? "readonly " + kind : kind;
        }

        string classKind = IsRecord(type) ? "record" : "class";
        return type switch
        {
            { IsAbstract: true, IsSealed: true } => "static class",
            { IsAbstract: true } => "abstract " + classKind,
            { IsSealed: true } => "sealed " + classKind,
            _ => classKind,
        };
    }

    // A record has a compiler-written clone method (classes) or PrintMembers (structs); neither can be written by hand.
    private static bool IsRecord(Type type) =>
        type.GetMethods(Declared).Any(m =>
            m.Name == "<Clone>$"
            || (m.Name == "PrintMembers" && m.IsDefined(typeof(CompilerGeneratedAttribute), inherit: false)));

    private static IEnumerable<string> MemberLines(Type type, NullabilityInfoContext context)
    {
        string owner = TypeName(type, declaration: true);
        if (type.IsEnum)
        {
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Static))
            {
                yield return $"{owner}.{field.Name} = {Convert.ToString(field.GetRawConstantValue(), CultureInfo.InvariantCulture)}";
            }

            yield break;
        }

        if (type.IsSubclassOf(typeof(Delegate)))
        {
            yield break;
        }

        foreach (var member in type.GetMembers(Declared))
        {
            if (member.Name.Contains('<', StringComparison.Ordinal) || member.IsDefined(typeof(CompilerGeneratedAttribute), inherit: false))
            {
                continue;
            }

            string? line = member switch
            {
                ConstructorInfo ctor when !ctor.IsStatic && IsVisible(ctor, type) =>
                    $"{owner}.{SimpleName(type)}({Parameters(ctor, context)}){Tags(ctor, type)}",
                MethodInfo method when IsVisible(method, type) && (!method.IsSpecialName || s_operators.ContainsKey(method.Name)) =>
                    MethodLine(owner, method, type, context),
                PropertyInfo property => PropertyLine(owner, property, type, context),
                FieldInfo field when IsVisible(field, type) => FieldLine(owner, field, type, context),
                EventInfo ev when ev.AddMethod is { } add && IsVisible(add, type) =>
                    $"{owner}.{ev.Name} -> {Format(ev.EventHandlerType!, context.Create(ev), null)}{Tags(add, type, "event")}",
                _ => null,
            };
            if (line is not null)
            {
                yield return line;
            }
        }
    }

    // By name: some of these attributes are compiler-emitted copies, and a referenced package may define its own.
    private static bool HasAttribute(MemberInfo member, string fullName) =>
        member.CustomAttributes.Any(a => a.AttributeType.FullName == fullName);

    private static bool IsVisible(MethodBase method, Type owner) =>
        method.IsPublic || ((method.IsFamily || method.IsFamilyOrAssembly) && IsDerivable(owner));

    private static bool IsVisible(FieldInfo field, Type owner) =>
        field.IsPublic || ((field.IsFamily || field.IsFamilyOrAssembly) && IsDerivable(owner));

    private static string MethodLine(string owner, MethodInfo method, Type type, NullabilityInfoContext context)
    {
        string name = s_operators.TryGetValue(method.Name, out var op) ? op : method.Name;
        if (method.IsGenericMethodDefinition)
        {
            name += "<" + string.Join(", ", method.GetGenericArguments().Select(a => a.Name)) + ">";
        }

        return $"{owner}.{name}({Parameters(method, context)}) -> {Returns(method, context)}{Tags(method, type)}";
    }

    private static string? PropertyLine(string owner, PropertyInfo property, Type type, NullabilityInfoContext context)
    {
        var get = property.GetMethod is { } g && IsVisible(g, type) ? g : null;
        var set = property.SetMethod is { } s && IsVisible(s, type) ? s : null;
        if (get is null && set is null)
        {
            return null;
        }

        bool init = set is not null && set.ReturnParameter.GetRequiredCustomModifiers().Any(m => m.FullName == "System.Runtime.CompilerServices.IsExternalInit");

        // A protected accessor of a public property is marked on the accessor; a property that is protected
        // altogether is marked in the tags.
        bool isPublic = get?.IsPublic == true || set?.IsPublic == true;
        string Accessor(MethodInfo? accessor, string name) =>
            accessor is null ? string.Empty : isPublic && !accessor.IsPublic ? $" protected {name};" : $" {name};";
        string accessors = Accessor(get, "get") + Accessor(set, init ? "init" : "set");
        var indexParameters = property.GetIndexParameters();
        string name = indexParameters.Length == 0
            ? property.Name
            : $"this[{string.Join(", ", indexParameters.Select(p => Parameter(p, context)))}]";
        string? required = HasAttribute(property, "System.Runtime.CompilerServices.RequiredMemberAttribute") ? "required" : null;
        string propertyType = Format(property.PropertyType, context.Create(property), TupleNames.Of(property));
        var tagged = get is not null && (get.IsPublic || !isPublic) ? get : set!;
        return $"{owner}.{name} {{{accessors} }} -> {propertyType}{Tags(tagged, type, required)}";
    }

    private static string FieldLine(string owner, FieldInfo field, Type type, NullabilityInfoContext context)
    {
        string fieldType = Format(field.FieldType, context.Create(field), TupleNames.Of(field));
        string access = field.IsPublic ? string.Empty : "protected ";
        if (field.IsLiteral)
        {
            return $"{owner}.{field.Name} = {Value(field.GetRawConstantValue(), field.FieldType)} -> {fieldType} [{access}const]";
        }

        var modifiers = new List<string>();
        if (!field.IsPublic)
        {
            modifiers.Add("protected");
        }

        if (field.IsStatic)
        {
            modifiers.Add("static");
        }

        if (field.IsInitOnly)
        {
            modifiers.Add("readonly");
        }

        return $"{owner}.{field.Name} -> {fieldType}{(modifiers.Count == 0 ? string.Empty : $" [{string.Join(' ', modifiers)}]")}";
    }

    private static string Tags(MethodBase method, Type owner, string? extra = null)
    {
        var tags = new List<string>();
        if (!method.IsPublic)
        {
            tags.Add("protected");
        }

        if (method.IsStatic)
        {
            tags.Add("static");
        }
        else if (!owner.IsInterface && method is MethodInfo m)
        {
            bool isOverride = m.GetBaseDefinition().DeclaringType != m.DeclaringType;
            if (m.IsAbstract)
            {
                tags.Add(isOverride ? "abstract override" : "abstract");
            }
            else if (isOverride)
            {
                tags.Add(m.IsFinal ? "sealed override" : "override");
            }
            else if (m.IsVirtual && !m.IsFinal)
            {
                tags.Add("virtual");
            }
        }

        if (extra is not null)
        {
            tags.Add(extra);
        }

        return tags.Count == 0 ? string.Empty : $" [{string.Join(' ', tags)}]";
    }

    private static string Parameters(MethodBase method, NullabilityInfoContext context)
    {
        string list = string.Join(", ", method.GetParameters().Select(p => Parameter(p, context)));
        return method.IsDefined(typeof(ExtensionAttribute), inherit: false) ? "this " + list : list;
    }

    private static string Returns(MethodInfo method, NullabilityInfoContext context)
    {
        var ret = method.ReturnParameter;
        string type = Format(ret.ParameterType, context.Create(ret), TupleNames.Of(ret));
        return ret.ParameterType.IsByRef ? "ref " + type : type;
    }

    private static string Parameter(ParameterInfo parameter, NullabilityInfoContext context)
    {
        string prefix = parameter switch
        {
            { ParameterType.IsByRef: true, IsOut: true } => "out ",
            { ParameterType.IsByRef: true, IsIn: true } => "in ",
            { ParameterType.IsByRef: true } => "ref ",
            _ when parameter.IsDefined(typeof(ParamArrayAttribute), inherit: false)
                || parameter.IsDefined(typeof(ParamCollectionAttribute), inherit: false) => "params ",
            _ => string.Empty,
        };
        string text = $"{prefix}{Format(parameter.ParameterType, context.Create(parameter), TupleNames.Of(parameter))} {parameter.Name}";
        return parameter.HasDefaultValue ? $"{text} = {Value(parameter.RawDefaultValue, parameter.ParameterType)}" : text;
    }

    private static string Value(object? value, Type type)
    {
        var declared = type.IsByRef ? type.GetElementType()! : type;
        var target = Nullable.GetUnderlyingType(declared) ?? declared;
        return value switch
        {
            null => declared.IsValueType && declared == target ? "default" : "null",
            _ when target.IsEnum => $"{TypeName(target)}.{Enum.ToObject(target, value)}",
            string s => $"\"{s}\"",
            bool b => b ? "true" : "false",
            char c => $"'{c}'",
            float f => f.ToString("R", CultureInfo.InvariantCulture) + "f",
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? string.Empty,
        };
    }

    private static string Format(Type type, NullabilityInfo? nullability, TupleNames? names)
    {
        if (type.IsByRef)
        {
            return Format(type.GetElementType()!, nullability, names);
        }

        if (type.IsPointer)
        {
            return Format(type.GetElementType()!, null, names) + "*";
        }

        string nullable = nullability is { ReadState: NullabilityState.Nullable } && !type.IsValueType ? "?" : string.Empty;
        if (type.IsArray)
        {
            string rank = new(',', type.GetArrayRank() - 1);
            return $"{Format(type.GetElementType()!, nullability?.ElementType, names)}[{rank}]{nullable}";
        }

        // An unconstrained T reads as nullable whether or not it was written T?, so type parameters get no '?'.
        if (type.IsGenericParameter)
        {
            return type.Name;
        }

        // The nullability of T? describes T's own type arguments directly.
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return Format(underlying, nullability, names) + "?";
        }

        if (s_keywords.TryGetValue(type, out var keyword))
        {
            return keyword + nullable;
        }

        if (!type.IsGenericType)
        {
            return TypeName(type) + nullable;
        }

        var arguments = type.GetGenericArguments();
        var argumentNames = names?.Take(IsTuple(type) ? arguments.Length : 0);
        var formatted = arguments
            .Select((a, i) => Format(a, nullability is { GenericTypeArguments.Length: > 0 } n ? n.GenericTypeArguments[i] : null, names))
            .ToArray();
        if (IsTuple(type))
        {
            var elements = formatted.Select((f, i) => argumentNames?[i] is { } n ? $"{f} {n}" : f);
            return $"({string.Join(", ", elements)})";
        }

        return $"{TypeName(type)}<{string.Join(", ", formatted)}>{nullable}";
    }

    private static bool IsTuple(Type type) =>
        type.IsGenericType && type.Namespace == "System" && type.Name.StartsWith("ValueTuple`", StringComparison.Ordinal)
        && type.GetGenericArguments().Length < 8;

    private static string SimpleName(Type type)
    {
        int tick = type.Name.IndexOf('`', StringComparison.Ordinal);
        return tick < 0 ? type.Name : type.Name[..tick];
    }

    // Full name without generic arguments, unless a declaration, whose type parameters are named.
    private static string TypeName(Type type, bool declaration = false)
    {
        string name = type.IsNested ? $"{TypeName(type.DeclaringType!)}.{SimpleName(type)}" : $"{type.Namespace}.{SimpleName(type)}";
        if (!declaration || !type.IsGenericTypeDefinition)
        {
            return name;
        }

        // Nested types repeat the type parameters of the types around them; show only their own.
        int inherited = type.IsNested ? type.DeclaringType!.GetGenericArguments().Length : 0;
        var own = type.GetGenericArguments().Skip(inherited).Select(a => a.Name).ToArray();
        return own.Length == 0 ? name : $"{name}<{string.Join(", ", own)}>";
    }

    /// <summary>
    /// The element names of the tuples in one member's type, in the compiler's order: each tuple's own names,
    /// then those of the tuples inside it, depth first.
    /// </summary>
    private sealed class TupleNames(IList<string?> names)
    {
        private int _next;

        public static TupleNames? Of(ICustomAttributeProvider member) =>
            member.GetCustomAttributes(typeof(TupleElementNamesAttribute), inherit: false) is [TupleElementNamesAttribute attribute, ..]
                ? new TupleNames(attribute.TransformNames)
                : null;

        public string?[] Take(int count)
        {
            var taken = new string?[count];
            for (int i = 0; i < count && _next < names.Count; i++)
            {
                taken[i] = names[_next++];
            }

            return taken;
        }
    }
}
