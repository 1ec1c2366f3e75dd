//! Reference data: Warhammer 40K (10th edition) factions, served at `GET /v1/factions`.

use serde::Serialize;

/// One faction.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Faction {
    /// Stable slug id (`fac_custodes`).
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Grand alliance: Imperium, Chaos or Xenos.
    pub alliance: &'static str,
}

const fn f(id: &'static str, name: &'static str, alliance: &'static str) -> Faction {
    Faction { id, name, alliance }
}

/// Every faction.
pub const FACTIONS: &[Faction] = &[
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

#[cfg(test)]
mod tests {
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
