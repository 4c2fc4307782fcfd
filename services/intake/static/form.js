// The citizen form, enhanced: communes follow the province, contact fields follow the choice to
// leave contact, and the send button is disabled once pressed. Without JavaScript the form works
// as is (the "show communes" button re-renders it; the contact fields stay visible).
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) { return; }

  var province = document.getElementById("province");
  var commune = document.getElementById("commune");
  var refresh = document.getElementById("show-communes");
  if (refresh) { refresh.parentNode.remove(); } // not the default button for Enter any more

  function option(value, label) {
    var item = document.createElement("option");
    item.value = value;
    item.textContent = label;
    return item;
  }

  function fillCommunes(list, label) {
    commune.replaceChildren(option("", label));
    list.forEach(function (unit) { commune.appendChild(option(unit.code, unit.name)); });
  }

  function provinceChanged() {
    var code = province.value;
    if (!code) { fillCommunes([], commune.dataset.firstLabel); return; }
    commune.disabled = true;
    fetch(province.dataset.communesUrl + encodeURIComponent(code) + "/communes",
          { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) {
        if (province.value === code) { fillCommunes(body.communes, commune.dataset.emptyLabel); }
      })
      .catch(function () { fillCommunes([], commune.dataset.emptyLabel); })
      .finally(function () { commune.disabled = false; });
  }
  if (province && commune) { province.addEventListener("change", provinceChanged); }

  var contact = document.getElementById("contact-fields");
  var leaveContact = document.getElementById("anonymous-no");
  function contactChanged() {
    var shown = leaveContact.checked || contact.classList.contains("invalid") ||
      contact.querySelector(".error") !== null;
    contact.hidden = !shown;
    // Hidden fields are not sent: an anonymous report carries no contact details.
    contact.querySelectorAll("input").forEach(function (input) { input.disabled = !shown; });
  }
  if (contact && leaveContact) {
    form.querySelectorAll("input[name=anonymous]").forEach(function (radio) {
      radio.addEventListener("change", contactChanged);
    });
    contactChanged();
  }

  var send = document.getElementById("send-report");
  var label = send ? send.textContent : "";
  form.addEventListener("submit", function () {
    if (!send) { return; }
    // Disabled after this submit has started, so a second tap sends nothing.
    window.setTimeout(function () {
      send.disabled = true;
      send.textContent = send.dataset.sendingLabel;
    }, 0);
  });
  // Back from the receipt (page restored from the back/forward cache): usable again.
  window.addEventListener("pageshow", function () {
    if (send) { send.disabled = false; send.textContent = label; }
  });
}());
