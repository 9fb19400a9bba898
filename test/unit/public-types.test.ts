import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const INDEX = `${SRC}index.ts`;

/**
 * Every named type declared in src/ that a public signature of src/index.ts reaches — through
 * parameters, return types (inferred ones too), properties and type arguments — must itself be
 * exported from src/index.ts, or a consumer cannot name it.
 */
function missingExports(): string[] {
  const program = ts.createProgram([INDEX], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const mod = checker.getSymbolAtLocation(program.getSourceFile(INDEX)!)!;
  const resolve = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const exported = new Set(checker.getExportsOfModule(mod).map(resolve));
  const ours = (s: ts.Symbol | undefined): boolean =>
    !!s?.declarations?.some((d) => d.getSourceFile().fileName.startsWith(SRC));
  const named = (s: ts.Symbol): boolean =>
    !!(s.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Class | ts.SymbolFlags.Enum));
  const missing = new Map<string, string>();
  const seen = new Set<ts.Type>();

  const visitSignature = (sig: ts.Signature, via: string): void => {
    for (const p of sig.getParameters()) visit(checker.getTypeOfSymbol(p), `${via}(${p.name})`);
    visit(sig.getReturnType(), `${via}() return`);
  };
  const visit = (type: ts.Type, via: string): void => {
    if (seen.has(type)) return;
    seen.add(type);
    for (const s of [type.aliasSymbol, type.getSymbol()]) {
      if (s && ours(s) && named(s) && !exported.has(s) && !missing.has(s.name)) missing.set(s.name, via);
    }
    for (const a of type.aliasTypeArguments ?? []) visit(a, via);
    if (type.isUnionOrIntersection()) for (const t of type.types) visit(t, via);
    if (type.flags & ts.TypeFlags.Object) {
      const obj = type as ts.ObjectType;
      if (obj.objectFlags & ts.ObjectFlags.Reference) {
        for (const a of checker.getTypeArguments(obj as ts.TypeReference)) visit(a, via);
      }
      // Types from node_modules or the standard library are not ours to export: only their type
      // arguments (above) are followed.
      const sym = type.aliasSymbol ?? type.getSymbol();
      if (sym && !ours(sym) && sym.name !== '__type' && sym.name !== '__object') return;
      for (const p of checker.getPropertiesOfType(type)) {
        if (
          p.name.startsWith('__@') ||
          (p.valueDeclaration && ts.getCombinedModifierFlags(p.valueDeclaration) & ts.ModifierFlags.Private)
        )
          continue;
        visit(checker.getTypeOfSymbol(p), `${via}.${p.name}`);
      }
      for (const sig of type.getCallSignatures()) visitSignature(sig, via);
      for (const sig of type.getConstructSignatures()) visitSignature(sig, `new ${via}`);
      const idx = checker.getIndexInfosOfType(type);
      for (const i of idx) visit(i.type, `${via}[]`);
    }
  };

  for (const s of exported) {
    if (s.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Class)) {
      visit(checker.getDeclaredTypeOfSymbol(s), s.name);
    }
    if (s.flags & ts.SymbolFlags.Value) {
      visit(checker.getTypeOfSymbol(s), s.name);
    }
  }
  return [...missing].map(([name, via]) => `${name} (reached from ${via})`).sort();
}

describe('the library’s public surface', () => {
  it('exports every type that appears in a public signature', () => {
    expect(missingExports()).toEqual([]);
  }, 60_000);
});
