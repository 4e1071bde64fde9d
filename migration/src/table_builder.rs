//! Column and table helpers shared by the migrations, so every table is built
//! the same way on SQLite, MySQL/MariaDB and PostgreSQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

/// Builds one table's definition; the columns common to all tables (`id`,
/// `created_at`, `updated_at`) are added by [`TableBuilder::new`] and
/// [`TableBuilder::finish`].
pub struct TableBuilder {
    backend: DatabaseBackend,
    name: &'static str,
    table: TableCreateStatement,
    indexes: Vec<IndexCreateStatement>,
}

impl TableBuilder {
    pub fn new(manager: &SchemaManager, name: &'static str) -> Self {
        let mut table = Table::create();
        table.table(Alias::new(name)).if_not_exists().col(
            ColumnDef::new(Alias::new("id"))
                .big_integer()
                .not_null()
                .primary_key(),
        );
        Self {
            backend: manager.get_database_backend(),
            name,
            table,
            indexes: Vec::new(),
        }
    }

    fn col(mut self, def: &mut ColumnDef) -> Self {
        self.table.col(def);
        self
    }

    /// VARCHAR(len) NOT NULL: short text that is filtered or indexed.
    pub fn string(self, name: &str, len: u32) -> Self {
        self.col(ColumnDef::new(Alias::new(name)).string_len(len).not_null())
    }

    /// VARCHAR(len) NULL.
    pub fn string_null(self, name: &str, len: u32) -> Self {
        self.col(ColumnDef::new(Alias::new(name)).string_len(len).null())
    }

    /// Text of any length (LONGTEXT on MySQL, whose TEXT stops at 64 KiB).
    pub fn text(self, name: &str) -> Self {
        let mut def = ColumnDef::new(Alias::new(name));
        if self.backend == DatabaseBackend::MySql {
            def.custom(Alias::new("LONGTEXT"));
        } else {
            def.text();
        }
        self.col(def.not_null())
    }

    pub fn small(self, name: &str) -> Self {
        self.col(ColumnDef::new(Alias::new(name)).small_integer().not_null())
    }

    pub fn int(self, name: &str) -> Self {
        self.col(ColumnDef::new(Alias::new(name)).integer().not_null())
    }

    pub fn big(self, name: &str) -> Self {
        self.col(ColumnDef::new(Alias::new(name)).big_integer().not_null())
    }

    pub fn big_null(self, name: &str) -> Self {
        self.col(ColumnDef::new(Alias::new(name)).big_integer().null())
    }

    pub fn double_null(self, name: &str) -> Self {
        self.col(ColumnDef::new(Alias::new(name)).double().null())
    }

    pub fn json_null(self, name: &str) -> Self {
        let mut def = ColumnDef::new(Alias::new(name));
        if self.backend == DatabaseBackend::Postgres {
            def.json_binary();
        } else {
            def.json();
        }
        self.col(def.null())
    }

    fn timestamp_def(&self, name: &str) -> ColumnDef {
        let mut def = ColumnDef::new(Alias::new(name));
        if self.backend == DatabaseBackend::MySql {
            // DATETIME, not TIMESTAMP: no year-2038 limit and no implicit
            // ON UPDATE behaviour. Values are always written in UTC.
            def.custom(Alias::new("DATETIME(6)"));
        } else {
            def.timestamp_with_time_zone();
        }
        def
    }

    pub fn timestamp(self, name: &str) -> Self {
        let mut def = self.timestamp_def(name);
        self.col(def.not_null())
    }

    pub fn timestamp_null(self, name: &str) -> Self {
        let mut def = self.timestamp_def(name);
        self.col(def.null())
    }

    /// `account_id` referencing `wx_accounts`; deleting an account with rows
    /// here is refused by the database as well as by the API.
    pub fn account_fk(self) -> Self {
        self.big("account_id")
            .references("account_id", "wx_accounts")
    }

    /// A foreign key from `column` to `table.id` that refuses deleting the
    /// referenced row while this one exists.
    pub fn references(mut self, column: &str, table: &str) -> Self {
        let name = self.name;
        self.table.foreign_key(
            ForeignKey::create()
                .name(format!("fk_{name}_{column}"))
                .from(Alias::new(name), Alias::new(column))
                .to(Alias::new(table), Alias::new("id"))
                .on_delete(ForeignKeyAction::Restrict)
                .on_update(ForeignKeyAction::Restrict),
        );
        self
    }

    pub fn index(mut self, columns: &[&str]) -> Self {
        self.indexes.push(self.index_def(columns, false));
        self
    }

    pub fn unique(mut self, columns: &[&str]) -> Self {
        self.indexes.push(self.index_def(columns, true));
        self
    }

    fn index_def(&self, columns: &[&str], unique: bool) -> IndexCreateStatement {
        let prefix = if unique { "ux" } else { "ix" };
        let mut index = Index::create();
        index
            .name(format!("{prefix}_{}_{}", self.name, columns.join("_")))
            .table(Alias::new(self.name))
            .if_not_exists();
        for column in columns {
            index.col(Alias::new(*column));
        }
        if unique {
            index.unique();
        }
        index
    }

    /// Adds the timestamps, creates the table and its indexes, and on MySQL
    /// fixes the character set so Chinese text and emoji are stored intact.
    pub async fn finish(self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        let this = self.timestamp("created_at").timestamp("updated_at");
        let table = this.table;
        manager.create_table(table.to_owned()).await?;
        for index in this.indexes {
            manager.create_index(index).await?;
        }
        if this.backend == DatabaseBackend::MySql {
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "ALTER TABLE `{}` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
                    this.name
                ))
                .await?;
        }
        Ok(())
    }
}
