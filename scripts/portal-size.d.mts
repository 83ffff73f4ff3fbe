export interface BuiltFile {
  file: string;
  raw: number;
  gzip: number;
}
export function initialLoad(dist?: string): { js: BuiltFile[]; css: BuiltFile[] };
