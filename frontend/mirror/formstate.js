/*
 * Form state in the mirror: each <option> of an unmasked <select> arrives with `selected` set
 * exactly when the customer has it selected (frontend/widget/formstate.js). The replayer applies
 * that as an attribute, which changes nothing once the mirror's select has been changed (by an
 * rrweb input event, which also sets `select.value` to one value and so breaks a multi-select,
 * or by the agent): after every event that can touch a select, its options' selectedness is set
 * from the attribute again. Masked selects are left alone (their options carry no choice).
 */

var EVENT_FULL_SNAPSHOT = 2;
var EVENT_INCREMENTAL = 3;
var SOURCE_MUTATION = 0;
var SOURCE_INPUT = 5;
var MASK_ATTR = "data-cobrowse-mask";

export function watchFormState(replayer) {
  replayer.on("event-cast", function (event) {
    try {
      var selects = selectsTouchedBy(event, replayer.getMirror());
      selects.forEach(applySelected);
    } catch {
      /* a mirror being torn down: the next snapshot rebuilds it */
    }
  });
}

function selectsTouchedBy(event, mirror) {
  var found = new Set();
  if (!event || !event.data) return found;
  function add(node) {
    var select = selectOf(node);
    if (select) found.add(select);
  }
  if (event.type === EVENT_FULL_SNAPSHOT) {
    // A select with nothing chosen (selectedIndex -1) is rebuilt showing its first option.
    mirror.getIds().forEach(function (id) {
      var node = mirror.getNode(id);
      if (node && node.localName === "select") found.add(node);
    });
    return found;
  }
  if (event.type !== EVENT_INCREMENTAL) return found;
  var data = event.data;
  if (data.source === SOURCE_INPUT) {
    add(mirror.getNode(data.id));
  } else if (data.source === SOURCE_MUTATION) {
    (data.attributes || []).forEach(function (change) {
      add(mirror.getNode(change.id));
    });
    (data.adds || []).forEach(function (change) {
      add(mirror.getNode(change.parentId));
      var node = change.node && mirror.getNode(change.node.id);
      add(node);
      if (node && node.querySelectorAll) node.querySelectorAll("select").forEach(add);
    });
    (data.removes || []).forEach(function (change) {
      add(mirror.getNode(change.parentId));
    });
  }
  return found;
}

// The select an option, optgroup or select node belongs to.
function selectOf(node) {
  for (var i = 0; node && node.nodeType === 1 && i < 3; i++, node = node.parentElement) {
    if (node.localName === "select") return node;
    if (node.localName !== "option" && node.localName !== "optgroup") return null;
  }
  return null;
}

function applySelected(select) {
  if (!select.isConnected || select.hasAttribute(MASK_ATTR)) return;
  var any = false;
  for (var i = 0; i < select.options.length; i++) {
    var option = select.options[i];
    var want = option.hasAttribute("selected");
    if (want) any = true;
    if (option.selected !== want) option.selected = want;
  }
  if (!any && select.selectedIndex !== -1) select.selectedIndex = -1;
}
