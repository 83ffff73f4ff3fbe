// Choosing one tenant among thousands: a text field that searches as you type (GraphQL
// tenants(search:), the start of a uid or name, or a pasted id) and a list of what matches, loaded
// a page at a time as you scroll or arrow down to its end. It is the ARIA "editable combobox with
// list autocomplete" (https://www.w3.org/WAI/ARIA/apg/patterns/combobox/): the field keeps the
// focus, ↓ and ↑ move through the list (aria-activedescendant), Enter takes the option, Escape
// closes the list and then puts the current choice back. The field's accessible name is its label.
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { graphql, type ResultOf } from '../api/graphql';
import { request } from '../api/session';
import { ErrorNote } from './ErrorNote';

const SEARCH = graphql(`
  query PickTenants($search: String, $after: String) {
    tenants(search: $search, first: 20, after: $after) {
      nodes {
        id
        uid
        name
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export type TenantChoice = ResultOf<typeof SEARCH>['tenants']['nodes'][number];

/** How a tenant reads in the field and the list. */
export const tenantLabel = (t: TenantChoice) => `${t.name || t.uid} (${t.uid})`;

/** Waiting this long after a key before searching: one request for a word typed, not one a letter. */
const TYPING_MS = 200;

interface Props {
  /** The visible label, and the field's accessible name. */
  label: string;
  value: TenantChoice | null;
  onChange: (t: TenantChoice | null) => void;
  /** An option before the tenants that stands for "none" (API keys: every tenant). */
  noneLabel?: string;
  /** Leave out Herald's own tenants (their uid starts with "_"). */
  hideSystem?: boolean;
  /** Shown in the empty field. */
  placeholder?: string;
  disabled?: boolean;
  /** A line under the field that says more (its description). */
  hint?: string;
  /** "inline" for the top bar (label beside the field), else a form field (label above). */
  layout?: 'inline' | 'field';
}

interface Results {
  search: string | null;
  tenants: TenantChoice[];
  endCursor: string | null;
  loading: boolean;
  error?: unknown;
}

export function TenantPicker({ label, value, onChange, noneLabel, hideSystem, placeholder, disabled, hint, layout = 'field' }: Props) {
  const id = useId();
  const listId = `${id}-list`;
  const shown = value ? tenantLabel(value) : (noneLabel ?? '');
  const [text, setText] = useState(shown);
  const [editing, setEditing] = useState(false);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [results, setResults] = useState<Results>({ search: null, tenants: [], endCursor: null, loading: false });
  const latest = useRef(0);
  /** The search the list shows (or is loading); undefined: none yet, or the last one failed. */
  const asked = useRef<string | null | undefined>(undefined);

  // The field shows the choice whenever it is not being typed in.
  useEffect(() => {
    if (!editing) setText(shown);
  }, [shown, editing]);

  // What to search: what was typed, or everything (the field still shows the choice, or is empty).
  const search = editing && text.trim() !== '' && text !== shown ? text.trim().slice(0, 200) : null;

  const load = async (s: string | null, after: string | null) => {
    const n = ++latest.current;
    setResults((r) => ({ ...r, loading: true, error: undefined }));
    try {
      const page = (await request(SEARCH, { search: s, after })).tenants;
      if (n !== latest.current) return;
      const fresh = page.nodes.filter((t) => !hideSystem || !t.uid.startsWith('_'));
      setResults((r) => ({
        search: s,
        tenants: after ? [...r.tenants, ...fresh] : fresh,
        endCursor: page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null,
        loading: false,
      }));
      if (!after) setActive(-1);
    } catch (error) {
      if (n !== latest.current) return;
      setResults((r) => ({ ...r, loading: false, error }));
      if (!after) asked.current = undefined;
    }
  };

  // A new search when the list is open and the text settles; the same list again when it reopens.
  useEffect(() => {
    if (!open || asked.current === search) return;
    const t = setTimeout(
      () => {
        asked.current = search;
        void load(search, null);
      },
      search === null ? 0 : TYPING_MS,
    );
    return () => clearTimeout(t);
  }, [open, search]);

  const loadMore = () => {
    if (results.endCursor && !results.loading) void load(results.search, results.endCursor);
  };

  const options: (TenantChoice | null)[] = [...(noneLabel && search === null ? [null] : []), ...results.tenants];
  const optionId = (i: number) => `${id}-opt-${i}`;

  useEffect(() => {
    if (active >= 0) document.getElementById(optionId(active))?.scrollIntoView({ block: 'nearest' });
  }, [active]);

  const choose = (t: TenantChoice | null) => {
    onChange(t);
    setEditing(false);
    setOpen(false);
    setActive(-1);
    setText(t ? tenantLabel(t) : (noneLabel ?? ''));
  };
  const cancel = () => {
    setEditing(false);
    setOpen(false);
    setActive(-1);
    setText(shown);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (!open) return setOpen(true);
      if (active >= options.length - 1) return loadMore();
      setActive(active + 1);
      if (active + 1 >= options.length - 3) loadMore();
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      if (open) setActive(Math.max(active - 1, 0));
    } else if (e.key === 'Enter') {
      if (open && active >= 0 && active < options.length) {
        e.preventDefault();
        choose(options[active]);
      } else if (open) {
        e.preventDefault(); // not the form's submit while the list is open
      }
    } else if (e.key === 'Escape') {
      if (open) {
        e.preventDefault();
        setOpen(false);
        setActive(-1);
      } else if (editing) {
        e.preventDefault();
        cancel();
      }
    }
  };

  const note = results.error
    ? null
    : results.loading && !results.tenants.length
      ? 'Searching…'
      : !results.tenants.length
        ? search
          ? `No tenant has a uid or name that starts with "${search}".`
          : 'No tenants yet.'
        : `${results.tenants.length}${results.endCursor ? '+' : ''} tenant${results.tenants.length === 1 ? '' : 's'}${
            results.endCursor ? ': scroll or press ↓ for more, or type more of the uid or name' : ''
          }.`;

  return (
    <div
      className={`tenant-picker ${layout}`}
      onBlur={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) cancel();
      }}
    >
      <label htmlFor={`${id}-input`}>{label}</label>
      <div className="combo">
        <input
          id={`${id}-input`}
          type="text"
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={open}
          aria-controls={listId}
          aria-activedescendant={open && active >= 0 ? optionId(active) : undefined}
          aria-describedby={hint ? `${id}-hint` : undefined}
          autoComplete="off"
          spellCheck={false}
          placeholder={placeholder ?? 'Type a uid or name'}
          disabled={disabled}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setEditing(true);
            setOpen(true);
            setActive(-1);
          }}
          onFocus={(e) => e.target.select()}
          onClick={() => setOpen(true)}
          onKeyDown={onKeyDown}
        />
        <div className="combo-popup" hidden={!open}>
          <ul
            id={listId}
            role="listbox"
            aria-label="Matches"
            onScroll={(e) => {
              const l = e.currentTarget;
              if (l.scrollTop + l.clientHeight >= l.scrollHeight - 40) loadMore();
            }}
          >
            {options.map((t, i) => (
              <li
                key={t?.id ?? 'none'}
                id={optionId(i)}
                role="option"
                aria-selected={i === active}
                className={(t?.id ?? null) === (value?.id ?? null) ? 'current' : undefined}
                // The field keeps the focus (and the list stays open) when an option is pressed.
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => choose(t)}
              >
                {t ? tenantLabel(t) : noneLabel}
              </li>
            ))}
          </ul>
          {results.error ? <ErrorNote error={results.error} /> : null}
          {note ? (
            <p className="combo-note" aria-hidden="true">
              {note}
            </p>
          ) : null}
        </div>
      </div>
      {hint ? <small id={`${id}-hint`}>{hint}</small> : null}
      {/* Said by screen readers as the list changes (the note above is its visible twin). */}
      <p className="visually-hidden" role="status">
        {open ? note : ''}
      </p>
    </div>
  );
}
