//! `cluster_leases` — a named lease held by one instance until it expires
//! (see `db::lease`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cluster_leases")]
pub struct Model {
    /// `worker:<id>` or `token:<account id>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The instance holding it.
    pub holder: String,
    pub expires_at: DateTimeUtc,
    /// What the holder says about itself (JSON text), e.g. its plugins.
    pub info: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
