// The Dockerfile reader of the image assembly (scripts/images/dockerfile.mjs), typed for the static checks, plus what
// only the checks ask of a Dockerfile.
// @ts-expect-error: a plain ESM script without type declarations
import * as reader from '../../scripts/images/dockerfile.mjs';

export interface Instruction {
  keyword: string;
  /** The rest of the line, continuations joined. */
  args: string;
  line: number;
}

export interface Stage {
  /** The FROM image with ARG defaults substituted. */
  image: string;
  name?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export const parseDockerfile = reader.parseDockerfile as (text: string) => Dockerfile;
/** ${X} and $X replaced by the ARG's value; an undeclared one throws. */
export const substitute = reader.substitute as (s: string, args: Record<string, string>) => string;

/** Sources of the COPY instructions that read the build context (not --from another stage). */
export function contextCopies(stage: Stage): string[] {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.args))
    .flatMap((i) => {
      const parts = i.args.split(' ').filter((p) => !p.startsWith('--'));
      return parts.slice(0, -1);
    });
}

/** A JSON-array (exec form) argument, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  const json = args.replace(/^(--\S+\s+)*(CMD\s+)?/, '');
  if (!json.startsWith('[')) return undefined;
  return JSON.parse(json) as string[];
}
