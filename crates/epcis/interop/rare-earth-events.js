// Builds rare earth events with epcis2.js (GS1's JavaScript SDK for EPCIS 2.0), an
// independent EPCIS implementation, and prints the EPCISDocument with the Event Hash ID
// epcis2.js computes for each event. `tests/interop.rs` captures the document with retrace
// and compares the hash IDs. Synthetic enterprises and lots (DESIGN.md §2).
"use strict";

const epcis = require("epcis2.js");

// Nothing is sent anywhere: the SDK's capture client is not used.
epcis.setup({ validationMode: "none" });

const RE = "https://w3id.org/retrace/rareearth/";
const ID = "https://w3id.org/retrace/id/";
const MINE = "91150206000000019W";
const PLANT = "91150271000000027U";
const LOT = `${ID}uscc/${MINE}/10/C2503-01`;

const context = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", { rareearth: RE }];

function quantity(epcClass, kilograms) {
  return new epcis.QuantityElement().setEpcClass(epcClass).setQuantity(kilograms).setUom("KGM");
}

const extract = new epcis.ObjectEvent()
  .setEventTime("2025-03-03T08:00:00+08:00")
  .setEventTimeZoneOffset("+08:00")
  .setAction("ADD")
  .setBizStep("commissioning")
  .addQuantity(quantity(LOT, 120000))
  .setReadPoint(new epcis.ReadPoint().setId(`${ID}facility/BYO-MINE-1`))
  .setBizLocation(new epcis.BizLocation().setId(`${ID}facility/BYO-MINE-1`))
  .addExtension("rareearth:flow", "extract")
  .addExtension("rareearth:enterprise", `${ID}uscc/${MINE}`)
  .setIlmd(
    new epcis.Ilmd()
      .addExtension("rareearth:product", "ORE-BAOTOU-MIX50")
      .addExtension("rareearth:gradePercent", 50.2)
      .addExtension("rareearth:gradeBasis", "dry")
      .addExtension("rareearth:moisturePercent", 8)
      .addExtension("rareearth:distribution", {
        "rareearth:Ce": 50, "rareearth:La": 25, "rareearth:Nd": 17, "rareearth:Pr": 5,
        "rareearth:Sm": 1.5, "rareearth:Gd": 1, "rareearth:Y": 0.5,
      }),
  );

const ship = new epcis.ObjectEvent()
  .setEventTime("2025-03-04T10:00:00+08:00")
  .setEventTimeZoneOffset("+08:00")
  .setAction("OBSERVE")
  .setBizStep("shipping")
  .setDisposition("in_transit")
  .addQuantity(quantity(LOT, 60000.125))
  .setReadPoint(new epcis.ReadPoint().setId(`${ID}facility/BYO-MINE-1`))
  .addBizTransaction(
    new epcis.BizTransactionElement().setType("bol").setBizTransaction(`${ID}uscc/${MINE}/shipment/WB-2503-0007`),
  )
  .addSource(new epcis.SourceElement().setType("owning_party").setSource(`${ID}uscc/${MINE}`))
  .addDestination(new epcis.DestinationElement().setType("owning_party").setDestination(`${ID}uscc/${PLANT}`))
  .addExtension("rareearth:flow", "ship")
  .addExtension("rareearth:enterprise", `${ID}uscc/${MINE}`);

const document = new epcis.EPCISDocument()
  .setContext(context)
  .setCreationDate("2025-03-05T00:00:00+08:00")
  .addEventList([extract, ship]);
const json = document.toObject();
const hashes = json.epcisBody.eventList.map((event) => epcis.eventToHashedId(event, context));
process.stdout.write(JSON.stringify({ document: json, hashes }, null, 2) + "\n");
