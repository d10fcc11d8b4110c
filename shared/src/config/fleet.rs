//! Fleet mode: many clusters, regions and accounts watched from one deployment
//! (`ECS_CLUSTERS`). Each target is checked with the health check's own configuration, its
//! cluster and region set to the target's (see [`Overlay`]).

use super::{ConfigError, Source, int_var, invalid};
use std::collections::HashMap;
use std::ffi::OsString;

pub const ECS_CLUSTERS: &str = "ECS_CLUSTERS";
pub const ECS_MEMBER_ROLE: &str = "ECS_MEMBER_ROLE";
pub const ECS_MEMBER_EXTERNAL_ID: &str = "ECS_MEMBER_EXTERNAL_ID";
pub const CLUSTERS_PER_WORKER: &str = "CLUSTERS_PER_WORKER";
pub const FLEET_GROUP_MIN: &str = "FLEET_GROUP_MIN";

/// The tag that marks a cluster for discovery (`*` in place of a cluster name).
pub const WATCH_TAG: (&str, &str) = ("ecs-monitor:watch", "true");

/// Which clusters of an account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clusters {
    Named(String),
    /// Every cluster tagged [`WATCH_TAG`].
    Tagged,
}

/// One entry of `ECS_CLUSTERS`: `cluster`, `region/cluster` or `account/region/cluster`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Another account, reached through the member role; `None`: this one.
    pub account: Option<String>,
    /// `None`: the deployment's region.
    pub region: Option<String>,
    pub clusters: Clusters,
}

/// A target with its clusters known: what one check runs against.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Resolved {
    pub account: Option<String>,
    pub region: String,
    pub cluster: String,
    /// Whether the entry named its region (its state then lives under it).
    pub explicit_region: bool,
}

impl Resolved {
    /// `account/region/cluster` as the entry gave it: how alerts and answers name it.
    pub fn label(&self) -> String {
        match (&self.account, self.explicit_region) {
            (Some(a), _) => format!("{a}/{}/{}", self.region, self.cluster),
            (None, true) => format!("{}/{}", self.region, self.cluster),
            (None, false) => self.cluster.clone(),
        }
    }

    /// `account/region/cluster` in full, the deployment's own account (`home`, when known)
    /// for a cluster of this account: what its alerts, incidents, metrics and pages are
    /// named, so that each names account, region and cluster.
    pub fn display(&self, home: Option<&str>) -> String {
        match self.account.as_deref().or(home) {
            Some(a) => format!("{a}/{}/{}", self.region, self.cluster),
            None => self.label(),
        }
    }

    /// The deployment's configuration (`base`) made this cluster's: its name, its region, and
    /// its key segment after the deployment's `state_prefix` and `report_prefix`.
    pub fn overlay<'a, S>(
        &self,
        base: &'a S,
        state_prefix: &str,
        report_prefix: &str,
    ) -> Overlay<'a, S> {
        let segment = self.key_segment();
        Overlay {
            base,
            vars: HashMap::from([
                (super::ECS_CLUSTER, self.cluster.clone()),
                (super::ECS_REGION, self.region.clone()),
                (super::STATE_PREFIX, format!("{state_prefix}{segment}")),
                (super::REPORT_PREFIX, format!("{report_prefix}{segment}")),
            ]),
        }
    }

    /// The key segment its state and reports live under, after the prefix: none for a plain
    /// `cluster` (the single-cluster layout, unchanged), else `region/` or `account/region/`,
    /// so that clusters of the same name in two regions or accounts never share a state.
    pub fn key_segment(&self) -> String {
        match (&self.account, self.explicit_region) {
            (Some(a), _) => format!("{a}/{}/", self.region),
            (None, true) => format!("{}/", self.region),
            (None, false) => String::new(),
        }
    }
}

/// Fleet mode's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetConfig {
    pub targets: Vec<Target>,
    /// The role assumed in other accounts (a name, or a path and name).
    pub member_role: String,
    pub external_id: Option<String>,
    /// Clusters one invocation checks at once.
    pub per_worker: usize,
    /// Clusters of one region changing in one run that make one regional alert.
    pub group_min: usize,
}

fn valid_cluster_name(c: &str) -> bool {
    // ClusterName: up to 255 letters, digits, hyphens and underscores (CreateCluster, ECS API
    // reference).
    !c.is_empty()
        && c.len() <= 255
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Parses `ECS_CLUSTERS`; the problem names the entry and what is wrong with it.
pub fn parse_targets(value: &str) -> Result<Vec<Target>, String> {
    let mut targets = Vec::new();
    for (i, entry) in value.split(',').enumerate() {
        let entry = entry.trim();
        let at = |why: String| format!("entry {} ({entry:?}): {why}", i + 1);
        let parts: Vec<&str> = entry.split('/').map(str::trim).collect();
        let (account, region, cluster) = match parts[..] {
            [c] => (None, None, c),
            [r, c] => (None, Some(r), c),
            [a, r, c] => (Some(a), Some(r), c),
            _ => {
                return Err(at(
                    "is not cluster, region/cluster or account/region/cluster".into(),
                ));
            }
        };
        if let Some(a) = account
            && !(a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(at(format!("account {a:?} is not a 12-digit account id")));
        }
        if let Some(r) = region
            && !super::common::valid_region(r)
        {
            return Err(at(format!(
                "region {r:?} is not an AWS region like us-east-1"
            )));
        }
        let clusters = match cluster {
            "*" => Clusters::Tagged,
            c if valid_cluster_name(c) => Clusters::Named(c.to_string()),
            c => {
                return Err(at(format!(
                    "cluster {c:?} is not a cluster name (letters, digits, - and _) or *"
                )));
            }
        };
        let t = Target {
            account: account.map(str::to_string),
            region: region.map(str::to_string),
            clusters,
        };
        if targets.contains(&t) {
            return Err(at("is listed twice".into()));
        }
        targets.push(t);
    }
    Ok(targets)
}

impl FleetConfig {
    /// `None` when `ECS_CLUSTERS` is unset: one cluster, `ECS_CLUSTER`.
    pub fn from_env(source: &impl Source) -> Result<Option<Self>, ConfigError> {
        let Some(value) = source.get(ECS_CLUSTERS)? else {
            return Ok(None);
        };
        let targets = parse_targets(&value).map_err(|why| invalid(ECS_CLUSTERS, &value, why))?;
        let member_role = source
            .get(ECS_MEMBER_ROLE)?
            .unwrap_or_else(|| "ecs-monitor-member".into());
        // A role name, optionally with a path (IAM: [\w+=,.@-]{1,64}, paths of / and the same).
        let role_ok = member_role.split('/').all(|p| {
            !p.is_empty()
                && p.len() <= 64
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        });
        if !role_ok {
            return Err(invalid(
                ECS_MEMBER_ROLE,
                &member_role,
                "is not an IAM role name (letters, digits and +=,.@_-, up to 64), optionally after a path",
            ));
        }
        let external_id = source.get(ECS_MEMBER_EXTERNAL_ID)?;
        if let Some(x) = &external_id
            && !(2..=1224).contains(&x.len())
        {
            // AssumeRole's ExternalId: 2 to 1224 characters (STS API reference).
            return Err(invalid(
                ECS_MEMBER_EXTERNAL_ID,
                "(hidden)",
                "must be 2 to 1224 characters",
            ));
        }
        if let Some(x) = &external_id
            && !x
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/_-".contains(&b))
        {
            return Err(invalid(
                ECS_MEMBER_EXTERNAL_ID,
                "(hidden)",
                "may hold only letters, digits and +=,.@:/_-",
            ));
        }
        Ok(Some(Self {
            targets,
            member_role,
            external_id,
            per_worker: int_var(source, CLUSTERS_PER_WORKER, 25, 1..=200)? as usize,
            group_min: int_var(source, FLEET_GROUP_MIN, 3, 2..=1000)? as usize,
        }))
    }

    /// The member role's ARN in `account` (the partition from the region: `cn-…` is aws-cn,
    /// `us-gov-…` aws-us-gov).
    pub fn role_arn(&self, account: &str, region: &str) -> String {
        let partition = if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        format!("arn:{partition}:iam::{account}:role/{}", self.member_role)
    }
}

/// The fleet's entry for a cluster an event is about (`diagnose::trigger::origin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A named entry: this cluster, with its entry's key segment.
    Named(Resolved),
    /// Only a `*` entry covers its account and region: the cluster is the fleet's if it
    /// carries the watch tag.
    IfTagged(Resolved),
    /// Not the fleet's.
    Outside,
}

impl FleetConfig {
    /// Which entry covers the cluster `cluster` of `account` (none: the deployment's, whose
    /// id is `home_account` when known) in `region` (none: `home_region`). A named entry
    /// wins over a `*` entry. Accounts compare as ids: an entry without one is the
    /// deployment's account.
    pub fn route(
        &self,
        account: Option<&str>,
        region: Option<&str>,
        cluster: &str,
        home_region: &str,
        home_account: Option<&str>,
    ) -> Route {
        let own = |a: Option<&str>| a.is_none() || a == home_account;
        let region = region.unwrap_or(home_region);
        let mut tagged = None;
        for t in &self.targets {
            let same_account = match (&t.account, account) {
                (Some(x), Some(y)) => x == y,
                (Some(x), None) => Some(x.as_str()) == home_account,
                (None, a) => own(a),
            };
            if !same_account || t.region.as_deref().unwrap_or(home_region) != region {
                continue;
            }
            let resolved = Resolved {
                account: t.account.clone(),
                region: region.to_string(),
                cluster: cluster.to_string(),
                explicit_region: t.region.is_some(),
            };
            match &t.clusters {
                Clusters::Named(c) if c == cluster => return Route::Named(resolved),
                Clusters::Named(_) => {}
                Clusters::Tagged => {
                    tagged.get_or_insert(resolved);
                }
            }
        }
        tagged.map_or(Route::Outside, Route::IfTagged)
    }
}

/// A source with some variables replaced: one target's configuration from the deployment's.
pub struct Overlay<'a, S> {
    pub base: &'a S,
    pub vars: HashMap<&'static str, String>,
}

impl<'a, S> Overlay<'a, S> {
    /// `base` with some cluster set: the deployment's own settings, which do not depend on
    /// which cluster, read and checked once.
    pub fn any_cluster(base: &'a S) -> Self {
        Self {
            base,
            vars: HashMap::from([(super::ECS_CLUSTER, "fleet".to_string())]),
        }
    }
}

impl<S: Source> Source for Overlay<'_, S> {
    fn get_os(&self, var: &str) -> Option<OsString> {
        match self.vars.get(var) {
            Some(v) => Some(OsString::from(v)),
            None => self.base.get_os(var),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_route_to_the_entry_of_their_cluster() {
        let fleet = FleetConfig {
            targets: parse_targets(
                "prod, eu-west-1/prod, 111111111111/us-east-1/*, 222222222222/eu-west-1/orders",
            )
            .unwrap(),
            member_role: "r".into(),
            external_id: None,
            per_worker: 25,
            group_min: 3,
        };
        let home = Some("999999999999");
        let r = |account: Option<&str>, region: &str, cluster: &str, explicit: bool| Resolved {
            account: account.map(str::to_string),
            region: region.into(),
            cluster: cluster.into(),
            explicit_region: explicit,
        };
        let route = |a, reg, c| fleet.route(a, reg, c, "us-east-1", home);
        let cases = [
            // The deployment's own account, named or by id, its region implied or said.
            (
                route(None, None, "prod"),
                Route::Named(r(None, "us-east-1", "prod", false)),
            ),
            (
                route(home, Some("us-east-1"), "prod"),
                Route::Named(r(None, "us-east-1", "prod", false)),
            ),
            // Same name, another region: the other entry (its own key segment).
            (
                route(home, Some("eu-west-1"), "prod"),
                Route::Named(r(None, "eu-west-1", "prod", true)),
            ),
            (route(home, Some("us-west-2"), "prod"), Route::Outside),
            (route(None, None, "staging"), Route::Outside),
            // A member account's discovery entry: the tag decides.
            (
                route(Some("111111111111"), Some("us-east-1"), "payments"),
                Route::IfTagged(r(Some("111111111111"), "us-east-1", "payments", true)),
            ),
            (
                route(Some("111111111111"), Some("eu-west-1"), "payments"),
                Route::Outside,
            ),
            (
                route(Some("222222222222"), Some("eu-west-1"), "orders"),
                Route::Named(r(Some("222222222222"), "eu-west-1", "orders", true)),
            ),
            (
                route(Some("222222222222"), Some("eu-west-1"), "billing"),
                Route::Outside,
            ),
            // Another account's cluster named like one of ours is not ours.
            (
                route(Some("333333333333"), Some("us-east-1"), "prod"),
                Route::Outside,
            ),
        ];
        for (i, (got, want)) in cases.into_iter().enumerate() {
            assert_eq!(got, want, "case {i}");
        }
        // The deployment's account unknown: only events without an account are its own.
        assert_eq!(
            fleet.route(Some("999999999999"), None, "prod", "us-east-1", None),
            Route::Outside
        );
    }

    #[test]
    fn targets_parse_in_their_three_forms_and_discovery() {
        let t = parse_targets("prod, eu-west-1/prod ,123456789012/us-east-2/*").unwrap();
        assert_eq!(
            t,
            [
                Target {
                    account: None,
                    region: None,
                    clusters: Clusters::Named("prod".into())
                },
                Target {
                    account: None,
                    region: Some("eu-west-1".into()),
                    clusters: Clusters::Named("prod".into())
                },
                Target {
                    account: Some("123456789012".into()),
                    region: Some("us-east-2".into()),
                    clusters: Clusters::Tagged
                },
            ]
        );
    }

    #[test]
    fn bad_entries_are_named_with_their_problem() {
        for (value, problem) in [
            (
                "prod,,api",
                "entry 2 (\"\"): cluster \"\" is not a cluster name",
            ),
            (
                "a/b/c/d",
                "entry 1 (\"a/b/c/d\"): is not cluster, region/cluster",
            ),
            (
                "12345/us-east-1/prod",
                "account \"12345\" is not a 12-digit account id",
            ),
            ("useast1/prod", "region \"useast1\" is not an AWS region"),
            ("us-east-1/pr od", "cluster \"pr od\" is not a cluster name"),
            ("prod,prod", "entry 2 (\"prod\"): is listed twice"),
        ] {
            let e = parse_targets(value).unwrap_err();
            assert!(e.contains(problem), "{value}: {e}");
        }
    }

    #[test]
    fn labels_and_keys_keep_same_named_clusters_apart() {
        let r = |account: Option<&str>, explicit: bool| Resolved {
            account: account.map(str::to_string),
            region: "eu-west-1".into(),
            cluster: "prod".into(),
            explicit_region: explicit,
        };
        assert_eq!(
            (r(None, false).label(), r(None, false).key_segment()),
            ("prod".into(), String::new())
        );
        assert_eq!(r(None, true).key_segment(), "eu-west-1/");
        assert_eq!(
            r(Some("123456789012"), true).label(),
            "123456789012/eu-west-1/prod"
        );
        assert_eq!(
            r(Some("123456789012"), true).key_segment(),
            "123456789012/eu-west-1/"
        );
    }

    #[test]
    fn a_cluster_overlays_its_name_region_and_key_segment() {
        let base = HashMap::from([("ECS_CLUSTER", "fleet"), ("ECS_SERVICES", "api")]);
        let r = Resolved {
            account: Some("111122223333".into()),
            region: "eu-west-1".into(),
            cluster: "orders".into(),
            explicit_region: true,
        };
        let o = r.overlay(&base, "ecs-health/", "reports/");
        let get = |v: &'static str| o.get(v).unwrap();
        assert_eq!(get("ECS_CLUSTER").as_deref(), Some("orders"));
        assert_eq!(get("ECS_REGION").as_deref(), Some("eu-west-1"));
        assert_eq!(
            get("STATE_PREFIX").as_deref(),
            Some("ecs-health/111122223333/eu-west-1/")
        );
        assert_eq!(
            get("REPORT_PREFIX").as_deref(),
            Some("reports/111122223333/eu-west-1/")
        );
        assert_eq!(
            get("ECS_SERVICES").as_deref(),
            Some("api"),
            "the rest is the deployment's"
        );
    }

    #[test]
    fn fleet_settings_and_their_errors() {
        let env = HashMap::from([(ECS_CLUSTERS, "prod,111122223333/eu-west-1/*")]);
        let f = FleetConfig::from_env(&env).unwrap().unwrap();
        assert_eq!(
            (f.member_role.as_str(), f.per_worker),
            ("ecs-monitor-member", 25)
        );
        assert_eq!(
            f.role_arn("111122223333", "cn-north-1"),
            "arn:aws-cn:iam::111122223333:role/ecs-monitor-member"
        );
        assert_eq!(FleetConfig::from_env(&HashMap::new()).unwrap(), None);
        for (var, value, problem) in [
            (
                ECS_MEMBER_ROLE,
                "bad role!",
                "ECS_MEMBER_ROLE=\"bad role!\": is not an IAM role name",
            ),
            (
                ECS_MEMBER_EXTERNAL_ID,
                "x",
                "ECS_MEMBER_EXTERNAL_ID=\"(hidden)\": must be 2 to 1224",
            ),
            (
                CLUSTERS_PER_WORKER,
                "0",
                "CLUSTERS_PER_WORKER=\"0\": must be between 1 and 200",
            ),
            (ECS_CLUSTERS, "a/b", "ECS_CLUSTERS=\"a/b\": entry 1"),
        ] {
            let mut env = HashMap::from([(ECS_CLUSTERS, "prod")]);
            env.insert(var, value);
            let e = FleetConfig::from_env(&env).unwrap_err().to_string();
            assert!(e.contains(problem), "{e}");
        }
    }
}
