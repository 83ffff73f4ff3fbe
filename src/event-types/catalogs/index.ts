import type { Catalog } from './catalog.js';
import { productfy } from './productfy.js';

export const CATALOGS: Record<string, Catalog> = { productfy };
export { schemaOf, type Catalog, type CatalogType } from './catalog.js';
