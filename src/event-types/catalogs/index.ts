import { billing } from './billing.js';
import type { Catalog } from './catalog.js';
import { productfy } from './productfy.js';

export const CATALOGS: Record<string, Catalog> = { productfy, billing };
export { schemaOf, type Catalog, type CatalogType } from './catalog.js';
