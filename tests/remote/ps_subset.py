"""Evaluate a few functions of executor.ps1 without PowerShell: a small, strict interpreter.

There is no PowerShell on the machines that run the tests. To check the executor's mirror of
the Windows path rules (auditor/winpath.py) against the same table of cases as the Python
side, the functions are parsed with tree-sitter-powershell and evaluated here, with the
semantics Windows PowerShell 5.1 and .NET give the constructs they use:

* ``[string]`` parameters convert ``$null`` to ``''``; variables are case-insensitive;
* ``.Replace``, ``.Contains``, ``.Substring``, ``.Trim()``/``.TrimStart(c)``/``.TrimEnd(c)``,
  ``.Length``; ``.StartsWith``/``.EndsWith``/``.IndexOf``/``.LastIndexOf`` only with an
  explicit ``[StringComparison]::Ordinal`` or ``OrdinalIgnoreCase`` (the culture-sensitive
  overloads are refused: their result depends on the node's culture);
* ``-match`` (case-insensitive) and ``-cmatch``, ``[regex]::Match`` with ``IgnoreCase``
  (.NET ``\\z`` read as Python ``\\Z``), ``-eq``/``-ne``/``-gt``/``-ge``/``-lt``/``-le``,
  ``-and``/``-or``/``-not``, ``+``/``-``;
* ``if``/``elseif``/``else``, ``while`` (bounded), ``foreach`` over ``@(...)``, ``return``,
  assignment, calls of other functions of the same script.

Anything else raises :class:`Unsupported` naming the line: a change to those functions that
steps outside this subset fails the test instead of being evaluated wrongly. What this does
NOT prove: that Windows PowerShell really behaves as modelled here (the model follows the
documented .NET semantics; the lab's Python executor is the other, independent check).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

PARSER = Parser(Language(tree_sitter_powershell.language()))

# Char.IsWhiteSpace (String.Trim() without arguments)
_NET_WHITESPACE = ("\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
                   "\u200a\u2028\u2029\u202f\u205f\u3000")
# wrapper nodes the grammar nests around a single expression
_PASS = {"pipeline", "pipeline_chain", "logical_expression", "bitwise_expression", "comparison_expression",
         "additive_expression", "multiplicative_expression", "format_expression", "range_expression",
         "array_literal_expression", "unary_expression", "argument_expression", "logical_argument_expression",
         "bitwise_argument_expression", "comparison_argument_expression", "additive_argument_expression",
         "multiplicative_argument_expression", "format_argument_expression", "range_argument_expression",
         "while_condition", "left_assignment_expression", "string_literal", "integer_literal",
         "script_block_body", "statement_list", "expression_with_unary_operator"}
_MAX_LOOP = 10_000


class Unsupported(Exception):
    """The function uses a construct this interpreter does not model."""


class PsError(Exception):
    """What would be a terminating .NET exception (e.g. Substring out of range)."""


class _Return(Exception):
    def __init__(self, value: Any):
        self.value = value


@dataclass(frozen=True)
class _Group:
    Value: str  # noqa: N815 - .NET member name


@dataclass(frozen=True)
class _Match:
    Success: bool  # noqa: N815
    Groups: tuple[_Group, ...]  # noqa: N815


def _fold(text: str) -> str:
    """OrdinalIgnoreCase: the invariant simple upper-case mapping, one character at a time."""
    return "".join(u if len(u := c.upper()) == 1 else c for c in text)


def _regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(pattern.replace(r"\z", r"\Z"), re.IGNORECASE if ignore_case else 0)


class PsScript:
    """The functions of one PowerShell script, callable from Python."""

    def __init__(self, source: str):
        self.source = source.encode("utf-8")
        self.functions: dict[str, Node] = {}
        stack = [PARSER.parse(self.source).root_node]
        while stack:
            node = stack.pop()
            if node.type == "function_statement":
                name = next(c for c in node.children if c.type == "function_name")
                self.functions[self._text(name).lower()] = node
            elif node.type in ("program", "statement_list"):
                stack.extend(node.children)

    # ---- helpers ------------------------------------------------------------------------
    def _text(self, node: Node) -> str:
        return self.source[node.start_byte:node.end_byte].decode("utf-8")

    def _no(self, node: Node, what: str = "") -> Unsupported:
        return Unsupported(f"line {node.start_point[0] + 1}: {what or node.type}: {self._text(node)[:80]!r}")

    @staticmethod
    def _kids(node: Node) -> list[Node]:
        return [c for c in node.children if c.type not in ("(", ")", "{", "}", ",", "command_argument_sep")]

    # ---- calls ---------------------------------------------------------------------------
    def call(self, name: str, *args: Any) -> Any:
        fn = self.functions.get(name.lower())
        if fn is None:
            raise Unsupported(f"no function {name} in the script")
        params: list[tuple[str, bool]] = []
        decl = next((c for c in fn.children if c.type == "function_parameter_declaration"), None)
        if decl is not None:
            plist = next((c for c in decl.children if c.type == "parameter_list"), None)
            for p in (plist.children if plist is not None else []):
                if p.type != "script_parameter":
                    continue
                var = next(c for c in p.children if c.type == "variable")
                typed = [self._text(c).lower() for c in p.children if c.type == "attribute_list"]
                if typed not in ([], ["[string]"]):
                    raise self._no(p, "parameter type")
                params.append((self._text(var)[1:].lower(), bool(typed)))
        if len(args) > len(params):
            raise Unsupported(f"{name}: {len(args)} arguments for {len(params)} parameters")
        scope: dict[str, Any] = {}
        for i, (pname, as_string) in enumerate(params):
            value = args[i] if i < len(args) else None
            scope[pname] = self._to_string(value) if as_string else value
        body = next(c for c in fn.children if c.type == "script_block")
        try:
            self._block(body, scope)
        except _Return as ret:
            return ret.value
        return None

    # ---- statements ----------------------------------------------------------------------
    def _block(self, node: Node, scope: dict[str, Any]) -> None:
        if node.type in ("script_block", "statement_block", "script_block_body", "statement_list"):
            for child in self._kids(node):
                self._block(child, scope)
            return
        self._statement(node, scope)

    def _statement(self, node: Node, scope: dict[str, Any]) -> None:
        t = node.type
        if t == "pipeline" and len(node.children) == 1:
            return self._statement(node.children[0], scope)
        if t == "assignment_expression":
            target, op, value = node.children
            if self._text(op) != "=":
                raise self._no(op, "assignment operator")
            var = self._unwrap(target)
            if var.type != "variable":
                raise self._no(target, "assignment target")
            scope[self._text(var)[1:].lower()] = self._expr(value, scope)
            return None
        if t == "if_statement":
            return self._if(node, scope)
        if t == "while_statement":
            cond, body = self._kids(node)[1:]
            for _ in range(_MAX_LOOP):
                if not self._truth(self._expr(cond, scope), cond):
                    return None
                self._block(body, scope)
            raise self._no(node, f"loop ran more than {_MAX_LOOP} times")
        if t == "foreach_statement":
            _, var, _, items, body = self._kids(node)
            for item in self._items(self._expr(items, scope)):
                scope[self._text(var)[1:].lower()] = item
                self._block(body, scope)
            return None
        if t == "flow_control_statement":
            kids = self._kids(node)
            if self._text(kids[0]) != "return":
                raise self._no(node, "flow control")
            raise _Return(self._expr(kids[1], scope) if len(kids) > 1 else None)
        raise self._no(node, "statement (only assignment, if, while, foreach, return)")

    def _if(self, node: Node, scope: dict[str, Any]) -> None:
        kids = self._kids(node)
        if self._truth(self._expr(kids[1], scope), kids[1]):
            return self._block(kids[2], scope)
        for extra in kids[3:]:
            clauses = self._kids(extra) if extra.type == "elseif_clauses" else [extra]
            for clause in clauses:
                parts = self._kids(clause)
                if clause.type == "else_clause":
                    return self._block(parts[1], scope)
                if self._truth(self._expr(parts[1], scope), parts[1]):
                    return self._block(parts[2], scope)
        return None

    # ---- expressions ---------------------------------------------------------------------
    def _unwrap(self, node: Node) -> Node:
        while node.type in _PASS and len(node.children) == 1:
            node = node.children[0]
        return node

    def _expr(self, node: Node, scope: dict[str, Any]) -> Any:
        node = self._unwrap(node)
        t = node.type
        if t == "verbatim_string_characters":
            return self._text(node)[1:-1].replace("''", "'")
        if t == "decimal_integer_literal":
            return int(self._text(node))
        if t == "variable":
            name = self._text(node)[1:].lower()
            if name in ("null", "true", "false"):
                return {"null": None, "true": True, "false": False}[name]
            if name not in scope:
                raise self._no(node, "variable used before it is set")
            return scope[name]
        if t == "parenthesized_expression":
            return self._expr(self._kids(node)[0], scope)
        if t == "expression_with_unary_operator":
            op, operand = node.children
            if self._text(op).lower() not in ("-not", "!"):
                raise self._no(op, "unary operator")
            return not self._truth(self._expr(operand, scope), operand)
        if t == "cast_expression":
            typ, operand = node.children
            if self._text(typ).lower() != "[string]":
                raise self._no(typ, "cast")
            return self._to_string(self._expr(operand, scope))
        if t == "array_expression":
            inner = self._kids(node)[1:]
            if len(inner) != 1:
                raise self._no(node, "array expression")
            return self._items(self._expr(inner[0], scope))
        if t == "command":
            return self._command(node, scope)
        if t in ("member_access", "invokation_expression"):
            return self._member(node, scope)
        if t == "element_access":
            target, _, index, _ = node.children
            items = self._expr(target, scope)
            return items[self._expr(index, scope)]
        if len(node.children) == 3 and node.children[1].type in (
                "comparison_operator", "+", "-", "-and", "-or"):
            return self._binary(node, scope)
        raise self._no(node, "expression")

    def _command(self, node: Node, scope: dict[str, Any]) -> Any:
        name = next(c for c in node.children if c.type == "command_name")
        elements = next((c for c in node.children if c.type == "command_elements"), None)
        args = []
        for el in self._kids(elements) if elements is not None else []:
            if el.type in ("command_parameter", "command_argument_sep"):
                raise self._no(el, "named parameter")
            args.append(self._expr(el, scope))
        return self.call(self._text(name), *args)

    def _binary(self, node: Node, scope: dict[str, Any]) -> Any:
        left_node, op_node, right_node = node.children
        op = self._text(op_node).lower()
        if op in ("-and", "-or"):
            left = self._truth(self._expr(left_node, scope), left_node)
            if op == "-and":
                return left and self._truth(self._expr(right_node, scope), right_node)
            return left or self._truth(self._expr(right_node, scope), right_node)
        left, right = self._expr(left_node, scope), self._expr(right_node, scope)
        if op == "+":
            if isinstance(left, str):
                return left + self._to_string(right)
            if isinstance(left, int) and isinstance(right, int):
                return left + right
        elif op == "-" and isinstance(left, int) and isinstance(right, int):
            return left - right
        elif op in ("-match", "-cmatch") and isinstance(left, str) and isinstance(right, str):
            return _regex(right, op == "-match").search(left) is not None
        elif op in ("-gt", "-ge", "-lt", "-le", "-eq", "-ne") and isinstance(left, int) and isinstance(right, int):
            return {"-gt": left > right, "-ge": left >= right, "-lt": left < right, "-le": left <= right,
                    "-eq": left == right, "-ne": left != right}[op]
        raise self._no(node, f"operator {op} on {type(left).__name__} and {type(right).__name__}")

    def _member(self, node: Node, scope: dict[str, Any]) -> Any:
        kids = node.children
        name = self._text(next(c for c in kids if c.type == "member_name"))
        args_node = next((c for c in kids if c.type == "argument_list"), None)
        args = []
        if args_node is not None:
            arg_list = next((c for c in args_node.children if c.type == "argument_expression_list"), None)
            args = [self._expr(a, scope) for a in self._kids(arg_list)] if arg_list is not None else []
        if kids[0].type == "type_literal":
            return self._static(node, self._text(kids[0]).lower(), name, args, args_node is not None)
        target = self._expr(kids[0], scope)
        if args_node is None:
            return self._property(node, target, name)
        return self._method(node, target, name, args)

    def _static(self, node: Node, typ: str, name: str, args: list[Any], call: bool) -> Any:
        if typ in ("[stringcomparison]", "[system.stringcomparison]") and not call:
            if name not in ("Ordinal", "OrdinalIgnoreCase"):
                raise self._no(node, "culture-sensitive comparison")
            return ("StringComparison", name)
        if typ == "[system.text.regularexpressions.regexoptions]" and name == "IgnoreCase" and not call:
            return ("RegexOptions", name)
        if typ == "[regex]" and name == "Match" and call and len(args) == 3 \
                and args[2] == ("RegexOptions", "IgnoreCase") and all(isinstance(a, str) for a in args[:2]):
            m = _regex(args[1], True).search(args[0])
            if m is None:
                return _Match(False, tuple(_Group("") for _ in range(_regex(args[1], True).groups + 1)))
            return _Match(True, tuple(_Group(m.group(i) or "") for i in range(len(m.groups()) + 1)))
        raise self._no(node, "static member")

    def _property(self, node: Node, target: Any, name: str) -> Any:
        if isinstance(target, str) and name == "Length":
            return len(target)
        if isinstance(target, (_Match, _Group)) and name in target.__dataclass_fields__:
            return getattr(target, name)
        raise self._no(node, f"property {name} of {type(target).__name__}")

    def _method(self, node: Node, s: Any, name: str, args: list[Any]) -> Any:
        if not isinstance(s, str):
            raise self._no(node, f"method {name} of {type(s).__name__}")
        cmp = args[-1] if args and isinstance(args[-1], tuple) and args[-1][0] == "StringComparison" else None
        plain = args[:-1] if cmp else args
        fold = _fold if cmp == ("StringComparison", "OrdinalIgnoreCase") else (lambda x: x)
        if name in ("StartsWith", "EndsWith", "IndexOf", "LastIndexOf") and cmp is None:
            raise self._no(node, f"{name} without [StringComparison]::Ordinal (culture-sensitive)")
        if name == "StartsWith" and len(plain) == 1:
            return fold(s).startswith(fold(plain[0]))
        if name == "EndsWith" and len(plain) == 1:
            return fold(s).endswith(fold(plain[0]))
        if name == "IndexOf" and 1 <= len(plain) <= 2:
            start = plain[1] if len(plain) == 2 else 0
            if not 0 <= start <= len(s):
                raise PsError("IndexOf: startIndex out of range")
            return fold(s).find(fold(plain[0]), start)
        if name == "LastIndexOf" and len(plain) == 1:
            return fold(s).rfind(fold(plain[0]))
        if cmp is not None:
            raise self._no(node, f"{name} with a comparison")
        if name == "Replace" and len(args) == 2 and all(isinstance(a, str) for a in args):
            if not args[0]:
                raise PsError("Replace: empty oldValue")
            return s.replace(args[0], args[1])
        if name == "Contains" and len(args) == 1:
            return args[0] in s
        if name == "Substring" and 1 <= len(args) <= 2:
            start = args[0]
            length = args[1] if len(args) == 2 else len(s) - start
            if start < 0 or length < 0 or start + length > len(s):
                raise PsError("Substring: index and length must refer to a location within the string")
            return s[start:start + length]
        if name == "Trim" and not args:
            return s.strip(_NET_WHITESPACE)
        if name in ("TrimStart", "TrimEnd") and len(args) == 1 and isinstance(args[0], str):
            return s.lstrip(args[0]) if name == "TrimStart" else s.rstrip(args[0])
        raise self._no(node, f"method {name}/{len(args)}")

    # ---- values --------------------------------------------------------------------------
    @staticmethod
    def _to_string(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "True" if value else "False"
        if isinstance(value, (str, int)):
            return str(value)
        raise Unsupported(f"[string] of {type(value).__name__}")

    @staticmethod
    def _items(value: Any) -> list[Any]:
        """``@(...)``: an array stays itself, anything else (``$null`` included) is one item."""
        return list(value) if isinstance(value, (list, tuple)) else [value]

    def _truth(self, value: Any, node: Node) -> bool:
        if value is None or isinstance(value, (bool, int, str)):
            return bool(value)
        raise self._no(node, f"truth of {type(value).__name__}")
