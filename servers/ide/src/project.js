// @ts-check
/**
 * One TypeScript project, as the TypeScript compiler sees it now: its files,
 * diagnostics, definitions, references and hover text. Owns the compiler's
 * language service and reads the files from disk at each request (a file
 * whose modification time changed is parsed again), so answers follow edits
 * made outside, as an editor's do. Knows nothing of MCP: positions and URIs
 * are plain values here, and failures are `ProjectError`s.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

/** A request the project cannot answer, with a message for the client. */
export class ProjectError extends Error {}

/** @typedef {{line: number, character: number}} Position zero-based, `character` in UTF-16 code units (as LSP and VS Code) */
/** @typedef {{start: Position, end: Position}} Range */
/** @typedef {{uri: string, range: Range}} Location */
/** @typedef {"Error" | "Warning" | "Info" | "Hint"} Severity */
/** @typedef {{message: string, severity: Severity, range: Range, source: "ts", code: number}} Diagnostic */
/** @typedef {{uri: string, diagnostics: Diagnostic[]}} FileDiagnostics */

/** VS Code's names of the compiler's categories (a suggestion is shown as a hint). */
const SEVERITY = {
  [ts.DiagnosticCategory.Error]: "Error",
  [ts.DiagnosticCategory.Warning]: "Warning",
  [ts.DiagnosticCategory.Message]: "Info",
  [ts.DiagnosticCategory.Suggestion]: "Hint",
};

/** VS Code's language ids by extension. @type {Record<string, string>} */
const LANGUAGE_IDS = {
  ".ts": "typescript",
  ".mts": "typescript",
  ".cts": "typescript",
  ".tsx": "typescriptreact",
  ".js": "javascript",
  ".mjs": "javascript",
  ".cjs": "javascript",
  ".jsx": "javascriptreact",
  ".json": "json",
};

export class Project {
  /**
   * @param {string} location a directory holding `tsconfig.json`, or a tsconfig file
   */
  constructor(location) {
    const resolved = path.resolve(location);
    const configFile = isDirectory(resolved) ? path.join(resolved, "tsconfig.json") : resolved;
    if (!fs.existsSync(configFile)) {
      throw new ProjectError(`no TypeScript project at ${resolved}: ${configFile} does not exist`);
    }
    /** The tsconfig file. */
    this.configFile = configFile;
    /** The project's directory (the tsconfig's). */
    this.root = path.dirname(configFile);
    /** @type {ts.ParsedCommandLine} */
    this.config = this.#parseConfig();
    this.service = ts.createLanguageService(this.#host(), ts.createDocumentRegistry());
  }

  /** The project folder, as Claude Code's `getWorkspaceFolders` names it. */
  workspaceFolder() {
    return { name: path.basename(this.root), uri: toUri(this.root), path: this.root };
  }

  /** The files the tsconfig selects, in its order. */
  files() {
    this.#refresh();
    return this.config.fileNames.map((fileName) => ({
      uri: toUri(fileName),
      path: path.relative(this.root, fileName),
      languageId: LANGUAGE_IDS[path.extname(fileName)] ?? "plaintext",
    }));
  }

  /**
   * Diagnostics of one file (its entry even when it has none), or of every
   * file that has some. The tsconfig's own problems, and those of no file,
   * are listed under the tsconfig's URI.
   * @param {string | undefined} uri
   * @returns {FileDiagnostics[]}
   */
  diagnostics(uri) {
    this.#refresh();
    if (uri !== undefined && toFileName(uri, this.root) === this.configFile) {
      return [{ uri: toUri(this.configFile), diagnostics: this.#projectDiagnostics() }];
    }
    if (uri !== undefined) {
      const fileName = this.#sourceFile(uri).fileName;
      return [{ uri: toUri(fileName), diagnostics: this.#fileDiagnostics(fileName) }];
    }
    /** @type {FileDiagnostics[]} */
    const found = [];
    const projectWide = this.#projectDiagnostics();
    if (projectWide.length > 0) {
      found.push({ uri: toUri(this.configFile), diagnostics: projectWide });
    }
    for (const fileName of this.config.fileNames) {
      const diagnostics = this.#fileDiagnostics(fileName);
      if (diagnostics.length > 0) {
        found.push({ uri: toUri(fileName), diagnostics });
      }
    }
    return found;
  }

  /**
   * Where the symbol at a position is defined.
   * @param {string} uri
   * @param {Position} position
   * @returns {Location[]}
   */
  definition(uri, position) {
    const { fileName, offset } = this.#offset(uri, position);
    const found = this.service.getDefinitionAtPosition(fileName, offset) ?? [];
    return found.map((entry) => this.#location(entry.fileName, entry.textSpan));
  }

  /**
   * Every reference to the symbol at a position, its definition included.
   * @param {string} uri
   * @param {Position} position
   * @returns {Location[]}
   */
  references(uri, position) {
    const { fileName, offset } = this.#offset(uri, position);
    const found = this.service.getReferencesAtPosition(fileName, offset) ?? [];
    return found.map((entry) => this.#location(entry.fileName, entry.textSpan));
  }

  /**
   * The hover text at a position: the symbol's type as the editor shows it, and its documentation.
   * @param {string} uri
   * @param {Position} position
   * @returns {{contents: string, documentation: string, range: Range} | null}
   */
  hover(uri, position) {
    const { fileName, offset } = this.#offset(uri, position);
    const info = this.service.getQuickInfoAtPosition(fileName, offset);
    if (info === undefined) {
      return null;
    }
    return {
      contents: ts.displayPartsToString(info.displayParts),
      documentation: ts.displayPartsToString(info.documentation),
      range: this.#location(fileName, info.textSpan).range,
    };
  }

  /** Reads the tsconfig again, so files added or removed since are seen. */
  #refresh() {
    if (!fs.existsSync(this.configFile)) {
      throw new ProjectError(`the project's ${this.configFile} no longer exists`);
    }
    this.config = this.#parseConfig();
  }

  /** The tsconfig as the compiler reads it: parsed from its source, so its problems have positions in it. */
  #parseConfig() {
    const source = ts.readJsonConfigFile(this.configFile, ts.sys.readFile);
    return ts.parseJsonSourceFileConfigFileContent(source, ts.sys, this.root, undefined, this.configFile);
  }

  /** @returns {ts.LanguageServiceHost} */
  #host() {
    return {
      getScriptFileNames: () => this.config.fileNames,
      getCompilationSettings: () => this.config.options,
      getProjectReferences: () => this.config.projectReferences,
      getScriptVersion: (fileName) => String(modifiedAt(fileName)),
      getScriptSnapshot: (fileName) => {
        const text = ts.sys.readFile(fileName);
        return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
      },
      getCurrentDirectory: () => this.root,
      getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
      fileExists: ts.sys.fileExists,
      readFile: ts.sys.readFile,
      readDirectory: ts.sys.readDirectory,
      directoryExists: ts.sys.directoryExists,
      getDirectories: ts.sys.getDirectories,
      realpath: ts.sys.realpath,
      useCaseSensitiveFileNames: () => ts.sys.useCaseSensitiveFileNames,
    };
  }

  #program() {
    const program = this.service.getProgram();
    if (program === undefined) {
      throw new ProjectError(`the compiler could not build the program of ${this.configFile}`);
    }
    return program;
  }

  /** The problems of the tsconfig and the options, and those of no file. */
  #projectDiagnostics() {
    const program = this.#program();
    return [...ts.getConfigFileParsingDiagnostics(this.config), ...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()].map(toDiagnostic);
  }

  /** @param {string} fileName */
  #fileDiagnostics(fileName) {
    return [
      ...this.service.getSyntacticDiagnostics(fileName),
      ...this.service.getSemanticDiagnostics(fileName),
      ...this.service.getSuggestionDiagnostics(fileName),
    ].map(toDiagnostic);
  }

  /**
   * The program's source file named by `uri` (a `file:` URI, an absolute path or one relative to the project).
   * @param {string} uri
   */
  #sourceFile(uri) {
    const fileName = toFileName(uri, this.root);
    const sourceFile = this.#program().getSourceFile(fileName);
    if (sourceFile !== undefined) {
      return sourceFile;
    }
    if (!fs.existsSync(fileName)) {
      throw new ProjectError(`${uri}: no such file (${fileName})`);
    }
    throw new ProjectError(`${uri} is not a file of the TypeScript project ${this.configFile} (see its "files", "include" and "exclude")`);
  }

  /**
   * @param {string} uri
   * @param {Position} position
   */
  #offset(uri, position) {
    this.#refresh();
    const sourceFile = this.#sourceFile(uri);
    const lineStarts = sourceFile.getLineStarts();
    if (position.line >= lineStarts.length) {
      throw new ProjectError(`line ${position.line} is past the end of ${uri}, which has ${lineStarts.length} lines (lines count from 0)`);
    }
    const lineEnd = position.line + 1 < lineStarts.length ? lineStarts[position.line + 1] - 1 : sourceFile.text.length;
    // As in LSP, a character past the end of its line means the end of the line.
    const offset = Math.min(lineStarts[position.line] + position.character, lineEnd);
    return { fileName: sourceFile.fileName, offset };
  }

  /**
   * @param {string} fileName
   * @param {ts.TextSpan} span
   * @returns {Location}
   */
  #location(fileName, span) {
    const sourceFile = this.#program().getSourceFile(fileName);
    if (sourceFile === undefined) {
      throw new ProjectError(`${fileName} left the program while it was being read`);
    }
    return { uri: toUri(fileName), range: toRange(sourceFile, span.start, span.length) };
  }
}

/**
 * @param {ts.Diagnostic} diagnostic
 * @returns {Diagnostic}
 */
function toDiagnostic(diagnostic) {
  const { file, start, length } = diagnostic;
  const origin = { line: 0, character: 0 };
  return {
    message: ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"),
    severity: /** @type {Severity} */ (SEVERITY[diagnostic.category]),
    range: file !== undefined && start !== undefined ? toRange(file, start, length ?? 0) : { start: origin, end: origin },
    source: "ts",
    code: diagnostic.code,
  };
}

/**
 * @param {ts.SourceFile} file
 * @param {number} start
 * @param {number} length
 * @returns {Range}
 */
function toRange(file, start, length) {
  return {
    start: file.getLineAndCharacterOfPosition(start),
    end: file.getLineAndCharacterOfPosition(start + length),
  };
}

/** @param {string} fileName */
function toUri(fileName) {
  return pathToFileURL(fileName).href;
}

/**
 * @param {string} uri
 * @param {string} root
 */
function toFileName(uri, root) {
  if (uri.startsWith("file:")) {
    try {
      return fileURLToPath(uri);
    } catch (error) {
      throw new ProjectError(`${uri} is not a file URI: ${error instanceof Error ? error.message : error}`);
    }
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri)) {
    throw new ProjectError(`${uri}: only file: URIs and paths name files here`);
  }
  return path.resolve(root, uri);
}

/** @param {string} fileName */
function modifiedAt(fileName) {
  try {
    return fs.statSync(fileName).mtimeMs;
  } catch {
    return 0;
  }
}

/** @param {string} location */
function isDirectory(location) {
  try {
    return fs.statSync(location).isDirectory();
  } catch {
    return false;
  }
}
