//! Reference data: Warhammer 40K (10th edition) factions, served at `GET /v1/factions`, plus
//! the matched-play primary missions and deployment maps of the Leviathan and Pariah Nexus
//! mission packs, for clients that offer a pick list (a battle's `mission` stays free-form).

use serde::Serialize;

/// One faction.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Faction {
    /// Stable slug id (`fac_custodes`).
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Grand alliance (the factions list's group): `Imperium`, `Chaos` or `Xenos`.
    pub(crate) grand_alliance: &'static str,
}

const fn f(id: &'static str, name: &'static str, grand_alliance: &'static str) -> Faction {
    Faction {
        id,
        name,
        grand_alliance,
    }
}

/// Every faction.
pub(crate) const FACTIONS: &[Faction] = &[
    f("fac_custodes", "Adeptus Custodes", "Imperium"),
    f("fac_space_marines", "Space Marines", "Imperium"),
    f("fac_blood_angels", "Blood Angels", "Imperium"),
    f("fac_dark_angels", "Dark Angels", "Imperium"),
    f("fac_space_wolves", "Space Wolves", "Imperium"),
    f("fac_black_templars", "Black Templars", "Imperium"),
    f("fac_deathwatch", "Deathwatch", "Imperium"),
    f("fac_grey_knights", "Grey Knights", "Imperium"),
    f("fac_adeptus_mechanicus", "Adeptus Mechanicus", "Imperium"),
    f("fac_astra_militarum", "Astra Militarum", "Imperium"),
    f("fac_adepta_sororitas", "Adepta Sororitas", "Imperium"),
    f("fac_imperial_knights", "Imperial Knights", "Imperium"),
    f("fac_imperial_agents", "Imperial Agents", "Imperium"),
    f("fac_chaos_space_marines", "Chaos Space Marines", "Chaos"),
    f("fac_death_guard", "Death Guard", "Chaos"),
    f("fac_thousand_sons", "Thousand Sons", "Chaos"),
    f("fac_world_eaters", "World Eaters", "Chaos"),
    f("fac_emperors_children", "Emperor's Children", "Chaos"),
    f("fac_chaos_daemons", "Chaos Daemons", "Chaos"),
    f("fac_chaos_knights", "Chaos Knights", "Chaos"),
    f("fac_aeldari", "Aeldari", "Xenos"),
    f("fac_drukhari", "Drukhari", "Xenos"),
    f("fac_necrons", "Necrons", "Xenos"),
    f("fac_orks", "Orks", "Xenos"),
    f("fac_tau_empire", "T'au Empire", "Xenos"),
    f("fac_tyranids", "Tyranids", "Xenos"),
    f("fac_genestealer_cults", "Genestealer Cults", "Xenos"),
    f("fac_leagues_of_votann", "Leagues of Votann", "Xenos"),
];

/// Looks a faction up by id.
pub fn faction(id: &str) -> Option<&'static Faction> {
    FACTIONS.iter().find(|f| f.id == id)
}

/// A matched-play primary mission.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Mission {
    /// Stable slug id (`msn_take_and_hold`).
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Mission packs it appears in (`leviathan`, `pariah_nexus`).
    pub(crate) packs: &'static [&'static str],
    /// What a battle of this mission scores as primary objectives.
    pub primary_objectives: &'static [&'static str],
    /// The secondary objectives a battle of it starts with, unless the players name theirs.
    pub secondary_objectives: &'static [&'static str],
}

const LEV: &[&str] = &["leviathan"];
const PN: &[&str] = &["pariah_nexus"];
const BOTH: &[&str] = &["leviathan", "pariah_nexus"];
const ETERNAL_WAR: &[&str] = &["eternal_war"];
/// Every mission's primaries include holding objective markers.
const CONTROL: &str = "Control Objectives";
/// The fixed secondaries a battle starts with (the spec's example).
const FIXED_SECONDARIES: &[&str] = &["Bring It Down", "Assassinate"];

const fn m(
    id: &'static str,
    name: &'static str,
    packs: &'static [&'static str],
    primary_objectives: &'static [&'static str],
) -> Mission {
    Mission {
        id,
        name,
        packs,
        primary_objectives,
        secondary_objectives: FIXED_SECONDARIES,
    }
}

/// Primary missions of the 10th-edition matched-play packs.
pub(crate) const MISSIONS: &[Mission] = &[
    m("msn_take_and_hold", "Take and Hold", BOTH, &[CONTROL]),
    m(
        "msn_supply_drop",
        "Supply Drop",
        BOTH,
        &[CONTROL, "Supply Drop"],
    ),
    m(
        "msn_purge_the_foe",
        "Purge the Foe",
        BOTH,
        &[CONTROL, "Destroy Enemy Units"],
    ),
    m(
        "msn_scorched_earth",
        "Scorched Earth",
        BOTH,
        &[CONTROL, "Burn Objectives"],
    ),
    m(
        "msn_the_ritual",
        "The Ritual",
        BOTH,
        &[CONTROL, "Perform the Ritual"],
    ),
    m(
        "msn_deploy_servo_skulls",
        "Deploy Servo-Skulls",
        LEV,
        &[CONTROL, "Deploy Servo-Skulls"],
    ),
    m(
        "msn_sites_of_power",
        "Sites of Power",
        LEV,
        &[CONTROL, "Empower Sites of Power"],
    ),
    m(
        "msn_vital_ground",
        "Vital Ground",
        LEV,
        &[CONTROL, "Hold Vital Ground"],
    ),
    m(
        "msn_priority_targets",
        "Priority Targets",
        LEV,
        &[CONTROL, "Priority Targets"],
    ),
    m(
        "msn_linchpin",
        "Linchpin",
        PN,
        &[CONTROL, "Hold Your Home Objective"],
    ),
    m(
        "msn_hidden_supplies",
        "Hidden Supplies",
        PN,
        &[CONTROL, "Hidden Supplies"],
    ),
    m(
        "msn_terraform",
        "Terraform",
        PN,
        &[CONTROL, "Terraform Objectives"],
    ),
    m(
        "msn_burden_of_trust",
        "Burden of Trust",
        PN,
        &[CONTROL, "Guard Objectives"],
    ),
    m(
        "msn_unexploded_ordnance",
        "Unexploded Ordnance",
        PN,
        &[CONTROL, "Move the Ordnance"],
    ),
    // The tracker spec's own example mission.
    m(
        "msn_sweep_and_clear",
        "Sweep and Clear",
        ETERNAL_WAR,
        &[CONTROL],
    ),
];

/// A deployment map.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Deployment {
    /// Stable slug id (`dep_dawn_of_war`).
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
}

const fn d(id: &'static str, name: &'static str) -> Deployment {
    Deployment { id, name }
}

/// Deployment maps shared by the Leviathan and Pariah Nexus packs.
pub(crate) const DEPLOYMENTS: &[Deployment] = &[
    d("dep_dawn_of_war", "Dawn of War"),
    d("dep_hammer_and_anvil", "Hammer and Anvil"),
    d("dep_search_and_destroy", "Search and Destroy"),
    d("dep_sweeping_engagement", "Sweeping Engagement"),
    d("dep_crucible_of_battle", "Crucible of Battle"),
    d("dep_tipping_point", "Tipping Point"),
];

/// Looks a primary mission up by id.
pub fn mission(id: &str) -> Option<&'static Mission> {
    MISSIONS.iter().find(|m| m.id == id)
}

/// Fills a battle's `mission` object from the reference list: when its `id` or `name`
/// (case-insensitive) is a known mission, absent `primary_objectives` and
/// `secondary_objectives` get that mission's; what the client gave is kept. Other missions
/// stay as given.
pub(crate) fn fill_objectives(mission: &mut serde_json::Map<String, serde_json::Value>) {
    let key = |k: &str| {
        mission
            .get(k)
            .and_then(|v| v.as_str())
            .map(|s| s.trim().to_lowercase())
    };
    let (id, name) = (key("id"), key("name"));
    let Some(known) = MISSIONS
        .iter()
        .find(|m| id.as_deref() == Some(m.id) || name.as_deref() == Some(&m.name.to_lowercase()))
    else {
        return;
    };
    for (field, list) in [
        ("primary_objectives", known.primary_objectives),
        ("secondary_objectives", known.secondary_objectives),
    ] {
        if mission.get(field).is_none_or(|v| v.is_null()) {
            mission.insert(field.into(), list.into());
        }
    }
}

/// Looks a deployment up by id.
pub fn deployment(id: &str) -> Option<&'static Deployment> {
    DEPLOYMENTS.iter().find(|d| d.id == id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reference_lists_are_well_formed() {
        for f in super::FACTIONS {
            assert!(f.id.starts_with("fac_"));
            assert!(["Imperium", "Chaos", "Xenos"].contains(&f.grand_alliance));
        }
        let mut ids: Vec<_> = super::MISSIONS.iter().map(|m| m.id).collect();
        ids.extend(super::DEPLOYMENTS.iter().map(|d| d.id));
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert_eq!(
            super::mission("msn_linchpin").map(|m| m.packs),
            Some(&["pariah_nexus"][..])
        );
        assert!(super::deployment("dep_dawn_of_war").is_some());
        assert!(super::faction("fac_unknown").is_none());
        let j = serde_json::to_value(super::faction("fac_orks")).unwrap();
        assert_eq!(j["grand_alliance"], "Xenos");
    }

    #[test]
    fn ids_are_unique_and_custodes_exists() {
        let mut ids: Vec<_> = super::FACTIONS.iter().map(|f| f.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), super::FACTIONS.len());
        assert_eq!(
            super::faction("fac_custodes").map(|f| f.name),
            Some("Adeptus Custodes")
        );
    }
}
