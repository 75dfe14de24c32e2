//! A read model's table as the catalog describes it (storage parameters, owner,
//! grants, indexes and constraints), and the statements that copy its definition
//! to a shadow table, swap the shadow in and drop what is left over. The rebuild
//! beside the live read model ([`super::shadow`]) decides when each runs.

use sha2::{Digest, Sha256};
use sqlx::{FromRow, PgExecutor, PgPool};

use crate::Error;

/// The suffix of a table or index being built beside the live one.
pub const SHADOW_SUFFIX: &str = "__rebuild";
/// The suffix of a table or index swapped out, until it is dropped.
pub const RETIRED_SUFFIX: &str = "__retired";

/// PostgreSQL's limit on names (`NAMEDATALEN - 1`); longer ones are truncated
/// silently, which would make two names one.
const MAX_NAME_BYTES: usize = 63;

/// The name of `name`'s copy with `suffix`, within PostgreSQL's 63 bytes: a name
/// too long keeps its start and a hash of the whole, so two long names that
/// share a start do not meet.
pub fn temporary_name(name: &str, suffix: &str) -> String {
    if name.len() + suffix.len() <= MAX_NAME_BYTES {
        return format!("{name}{suffix}");
    }
    let digest = hex::encode(&Sha256::digest(name.as_bytes())[..4]);
    let mut keep = MAX_NAME_BYTES - suffix.len() - digest.len() - 1;
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}_{digest}{suffix}", &name[..keep])
}

/// The table a rebuild of `table` fills beside it.
pub fn shadow_name(table: &str) -> String {
    temporary_name(table, SHADOW_SUFFIX)
}

/// A live table as the catalog describes it, with the names of its copies.
#[derive(Debug, Clone)]
pub(super) struct LiveTable {
    pub(super) schema: String,
    pub(super) name: String,
    pub(super) shadow: String,
    pub(super) retired: String,
    /// `WITH (…)` storage parameters (`fillfactor = '80'`), empty if none.
    pub(super) storage: String,
    /// The owner, when it is not the role running the rebuild.
    pub(super) other_owner: Option<String>,
    /// `GRANT` statements for the shadow, repeating the live table's.
    pub(super) grants: Vec<String>,
    pub(super) indexes: Vec<LiveIndex>,
}

#[derive(Debug, Clone, FromRow)]
pub(super) struct LiveIndex {
    pub(super) name: String,
    /// `pg_get_indexdef`: `CREATE [UNIQUE] INDEX name ON schema.table USING …`.
    pub(super) definition: String,
    /// The definition's start up to `USING`, as PostgreSQL prints it.
    pub(super) prefix: String,
    pub(super) is_unique: bool,
    /// `p` (primary key), `u` (unique) or `x` (exclusion) when a constraint
    /// owns the index.
    pub(super) constraint_type: Option<String>,
}

#[derive(Debug, FromRow)]
pub(super) struct TableFacts {
    pub(super) schema: String,
    pub(super) name: String,
    pub(super) storage: Option<String>,
    pub(super) other_owner: Option<String>,
    /// What would be lost or left pointing at the retired table by a swap.
    pub(super) obstacles: Vec<String>,
}

impl LiveTable {
    /// Reads what the copy must repeat, and refuses tables a copy cannot stand
    /// in for.
    pub(super) async fn inspect(pool: &PgPool, table: &str) -> Result<Self, Error> {
        let facts: Option<TableFacts> = sqlx::query_as(
            "SELECT n.nspname AS schema, c.relname AS name,
                    (SELECT string_agg(format('%s = %L', split_part(option, '=', 1),
                                              substr(option, strpos(option, '=') + 1)), ', ')
                       FROM unnest(c.reloptions) AS option) AS storage,
                    CASE WHEN c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
                         THEN pg_get_userbyid(c.relowner) END AS other_owner,
                    array_remove(ARRAY[
                      CASE WHEN c.relkind <> 'r' THEN 'it is not a plain table' END,
                      CASE WHEN c.relpersistence <> 'p' THEN 'it is unlogged or temporary' END,
                      CASE WHEN EXISTS (SELECT 1 FROM pg_inherits i
                                         WHERE i.inhrelid = c.oid OR i.inhparent = c.oid)
                           THEN 'it takes part in inheritance or partitioning' END,
                      CASE WHEN EXISTS (SELECT 1 FROM pg_trigger t
                                         WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)
                           THEN 'it has triggers' END,
                      CASE WHEN EXISTS (SELECT 1 FROM pg_constraint k WHERE k.contype = 'f'
                                           AND (k.conrelid = c.oid OR k.confrelid = c.oid))
                           THEN 'it has or is referenced by foreign keys' END,
                      CASE WHEN c.relrowsecurity OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)
                           THEN 'it has row-level security' END,
                      CASE WHEN EXISTS (SELECT 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
                                         WHERE d.classid = 'pg_rewrite'::regclass
                                           AND d.refobjid = c.oid AND r.ev_class <> c.oid)
                           THEN 'views depend on it' END,
                      CASE WHEN EXISTS (SELECT 1 FROM pg_publication_rel p WHERE p.prrelid = c.oid)
                           THEN 'it is in a publication' END,
                      CASE WHEN EXISTS (SELECT 1 FROM pg_constraint k
                                         WHERE k.conrelid = c.oid AND k.contype = 'x')
                           THEN 'it has exclusion constraints' END
                    ], NULL) AS obstacles
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.oid = to_regclass($1)",
        )
        .bind(table)
        .fetch_optional(pool)
        .await?;
        let Some(facts) = facts else {
            return Err(Error::Rejected(format!("table {table} does not exist")));
        };
        if facts.name != table {
            return Err(Error::Rejected(format!(
                "table {table:?}: a rebuild beside needs tables named by a plain identifier"
            )));
        }
        if !facts.obstacles.is_empty() {
            return Err(Error::Rejected(format!(
                "table {table} cannot be swapped for a copy: {}",
                facts.obstacles.join(", ")
            )));
        }
        let shadow = shadow_name(table);
        let grants: Vec<String> = sqlx::query_scalar(
            "SELECT format('GRANT %s ON %I.%I TO %s%s', a.privilege_type, n.nspname, $2::text,
                           CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                           CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
                    aclexplode(c.relacl) AS a
              WHERE c.oid = to_regclass($1) AND a.grantee <> c.relowner
              ORDER BY 1",
        )
        .bind(table)
        .bind(&shadow)
        .fetch_all(pool)
        .await?;
        let indexes: Vec<LiveIndex> = sqlx::query_as(
            "SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition,
                    format('CREATE %sINDEX %I ON %I.%I ',
                           CASE WHEN x.indisunique THEN 'UNIQUE ' ELSE '' END,
                           i.relname, n.nspname, c.relname) AS prefix,
                    x.indisunique AS is_unique, k.contype::text AS constraint_type
               FROM pg_index x
               JOIN pg_class i ON i.oid = x.indexrelid
               JOIN pg_class c ON c.oid = x.indrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid
              WHERE x.indrelid = to_regclass($1)
              ORDER BY x.indisprimary DESC, i.relname",
        )
        .bind(table)
        .fetch_all(pool)
        .await?;
        for index in &indexes {
            if !index.definition.starts_with(&index.prefix) {
                return Err(Error::Rejected(format!(
                    "index {}: cannot read its definition {:?}",
                    index.name, index.definition
                )));
            }
        }
        Ok(LiveTable {
            schema: facts.schema,
            name: facts.name,
            retired: temporary_name(table, RETIRED_SUFFIX),
            shadow,
            storage: facts.storage.unwrap_or_default(),
            other_owner: facts.other_owner,
            grants,
            indexes,
        })
    }

    pub(super) fn qualified(&self, name: &str) -> String {
        format!("{}.{}", quote(&self.schema), quote(name))
    }

    /// The empty copy (any leftover of a crashed rebuild dropped first) with the
    /// live table's columns, defaults, checks, storage parameters, owner, grants
    /// and unique indexes; the other indexes come after the bulk of the fold.
    pub(super) async fn create_shadow(&self, pool: &PgPool) -> Result<(), Error> {
        let shadow = self.qualified(&self.shadow);
        let mut statements = vec![
            format!("DROP TABLE IF EXISTS {shadow}"),
            format!("DROP TABLE IF EXISTS {}", self.qualified(&self.retired)),
            format!(
                "CREATE TABLE {shadow} (LIKE {} INCLUDING ALL EXCLUDING INDEXES){}",
                self.qualified(&self.name),
                if self.storage.is_empty() {
                    String::new()
                } else {
                    format!(" WITH ({})", self.storage)
                }
            ),
        ];
        if let Some(owner) = &self.other_owner {
            statements.push(format!("ALTER TABLE {shadow} OWNER TO {}", quote(owner)));
        }
        statements.extend(self.grants.iter().cloned());
        for index in self.indexes.iter().filter(|index| index.is_unique) {
            statements.extend(self.create_index(index));
        }
        let mut tx = pool.begin().await?;
        for statement in statements {
            run(&mut *tx, &statement).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `CONCURRENTLY`, although nothing else writes the shadow: a plain `CREATE
    /// INDEX` holds a transaction id for the whole build, and while it does,
    /// every reader of the log in the cluster waits (its horizon is the oldest
    /// running transaction). A concurrent build takes none.
    pub(super) async fn create_secondary_indexes(&self, pool: &PgPool) -> Result<(), Error> {
        for index in self.indexes.iter().filter(|index| !index.is_unique) {
            for statement in self.create_index(index) {
                let statement =
                    statement.replacen("CREATE INDEX ", "CREATE INDEX CONCURRENTLY ", 1);
                run(pool, &statement).await?;
            }
        }
        Ok(())
    }

    /// The live index's definition on the shadow, under its shadow name; a
    /// primary key or unique constraint made from it.
    pub(super) fn create_index(&self, index: &LiveIndex) -> Vec<String> {
        let shadow_index = temporary_name(&index.name, SHADOW_SUFFIX);
        let body = &index.definition[index.prefix.len()..];
        let mut statements = vec![format!(
            "CREATE {}INDEX {} ON {} {body}",
            if index.is_unique { "UNIQUE " } else { "" },
            quote(&shadow_index),
            self.qualified(&self.shadow),
        )];
        let constraint = match index.constraint_type.as_deref() {
            Some("p") => Some("PRIMARY KEY"),
            Some("u") => Some("UNIQUE"),
            _ => None,
        };
        if let Some(constraint) = constraint {
            // The constraint takes the index's name; renaming the index in the swap
            // renames the constraint with it.
            statements.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {name} {constraint} USING INDEX {name}",
                self.qualified(&self.shadow),
                name = quote(&shadow_index),
            ));
        }
        statements
    }

    /// Live out to `__retired`, shadow in under the live names.
    pub(super) fn swap_statements(&self) -> Vec<String> {
        let mut statements = self.renames("", RETIRED_SUFFIX);
        statements.extend(self.renames(SHADOW_SUFFIX, ""));
        statements
    }

    /// The table and its indexes renamed from their names with suffix `from` to
    /// their names with suffix `to` (`""`: the live names).
    pub(super) fn renames(&self, from: &str, to: &str) -> Vec<String> {
        let named = |base: &str, suffix: &str| match suffix {
            "" => base.to_owned(),
            suffix => temporary_name(base, suffix),
        };
        std::iter::once(("TABLE", &self.name))
            .chain(self.indexes.iter().map(|index| ("INDEX", &index.name)))
            .map(|(kind, base)| {
                format!(
                    "ALTER {kind} {} RENAME TO {}",
                    self.qualified(&named(base, from)),
                    quote(&named(base, to))
                )
            })
            .collect()
    }

    /// Waits for live statements that locked the old table before the swap (a
    /// blocked batch keeps its lock until it commits), then drops it.
    pub(super) async fn drop_retired(&self, pool: &PgPool) -> Result<(), Error> {
        let mut tx = pool.begin().await?;
        run(&mut *tx, "SET LOCAL lock_timeout = '30s'").await?;
        run(
            &mut *tx,
            &format!("DROP TABLE IF EXISTS {}", self.qualified(&self.retired)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn drop_shadow(&self, pool: &PgPool) -> Result<(), Error> {
        run(
            pool,
            &format!("DROP TABLE IF EXISTS {}", self.qualified(&self.shadow)),
        )
        .await?;
        Ok(())
    }
}

/// Runs a statement built here (DDL, a setting): once, so not worth a cached
/// prepared statement. (`sqlx::raw_sql` would do, but its future is not `Send`
/// for every lifetime, which makes a rebuild impossible to spawn.)
pub(super) async fn run<'e>(executor: impl PgExecutor<'e>, sql: &str) -> Result<(), Error> {
    sqlx::query(sql).persistent(false).execute(executor).await?;
    Ok(())
}

/// `name` as a quoted SQL identifier.
pub(super) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_fit_postgresql_s_limit_and_stay_apart() {
        assert_eq!(shadow_name("read_carts"), "read_carts__rebuild");
        let long = "r".repeat(60);
        let other = format!("{}x", "r".repeat(59));
        for name in [&long, &other] {
            let shadow = shadow_name(name);
            assert!(shadow.len() <= 63, "{shadow}");
            assert!(shadow.ends_with(SHADOW_SUFFIX), "{shadow}");
        }
        assert_ne!(shadow_name(&long), shadow_name(&other));
        assert_eq!(
            shadow_name(&long),
            shadow_name(&long),
            "found again by a later run"
        );
        let multibyte = "é".repeat(30);
        assert!(temporary_name(&multibyte, RETIRED_SUFFIX).len() <= 63);
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote("read_carts"), "\"read_carts\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
