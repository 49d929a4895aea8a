// The steps of an escalation policy being edited: each a delay and its targets (a user, a schedule's
// on-call primary, every member of a team), added and removed in place. The choices come from the
// platform's users, schedules and teams (directory.js).

import { $, h } from "./dom.js";

export const TARGET_TYPES = { user: "User", schedule: "On call for schedule", team: "Everyone in team" };
const DEFAULT_DELAY = 5;

export function stepsEditor() {
  const box = $("#steps");
  let steps = [];
  let choices = { user: [], schedule: [], team: [] };

  function options(type, selected) {
    const known = choices[type];
    const list = known.map((choice) => h("option", { value: choice.value, selected: choice.value === selected }, choice.text));
    if (selected && !known.some((choice) => choice.value === selected)) {
      list.push(h("option", { value: selected, selected: true }, `${selected} (not found)`));
    }
    return list.length ? list : [h("option", { value: "" }, `no ${type}s yet`)];
  }

  function targetRow(step, s, target, t) {
    const where = `target ${t + 1} of step ${s + 1}`;
    const who = h("select", { "aria-label": `Who: ${where}`, class: "target-id" }, options(target.type, target.id));
    who.addEventListener("change", () => { target.id = who.value; });
    const type = h("select", { "aria-label": `Kind: ${where}`, class: "target-type" },
      Object.entries(TARGET_TYPES).map(([value, text]) => h("option", { value, selected: value === target.type }, text)));
    type.addEventListener("change", () => {
      target.type = type.value;
      target.id = choices[target.type][0]?.value || "";
      who.replaceChildren(...options(target.type, target.id));
    });
    return h("li", { class: "target" }, type, who,
      h("button", { type: "button", disabled: step.targets.length === 1, "aria-label": `Remove ${where}`,
        onclick: () => { step.targets.splice(t, 1); render(); } }, "Remove"));
  }

  function stepBox(step, s) {
    const delayId = `step-${s + 1}-delay`;
    const delay = h("input", { id: delayId, type: "number", min: 0, max: 10080, step: 1, value: step.delay_minutes, required: true });
    delay.addEventListener("input", () => { step.delay_minutes = delay.value === "" ? NaN : Number(delay.value); });
    return h("fieldset", { class: "step", dataset: { step: s + 1 } },
      h("legend", {}, `Step ${s + 1}`),
      h("ul", { class: "targets" }, step.targets.map((target, t) => targetRow(step, s, target, t))),
      h("div", { class: "filters" },
        h("button", { type: "button", "aria-label": `Add target to step ${s + 1}`, onclick: () => addTarget(step, s) }, "Add target"),
        h("label", { for: delayId }, `Then wait (minutes) before ${s + 1 < steps.length ? `step ${s + 2}` : "the next round"}`),
        delay,
        h("button", { type: "button", disabled: steps.length === 1, "aria-label": `Remove step ${s + 1}`,
          onclick: () => { steps.splice(s, 1); render(); } }, "Remove step")));
  }

  function newTarget() {
    const type = choices.user.length ? "user" : "schedule";
    return { type, id: choices[type][0]?.value || "" };
  }

  function addTarget(step, s) {
    step.targets.push(newTarget());
    render();
    const types = box.querySelectorAll(`fieldset[data-step='${s + 1}'] .target-type`);
    types[types.length - 1].focus();
  }

  function render() {
    box.replaceChildren(...steps.map(stepBox));
  }

  return {
    setChoices({ users, schedules, teams }) {
      choices = {
        user: users.map((user) => ({ value: user.id, text: `${user.name} (${user.email})` })),
        schedule: schedules.map((schedule) => ({ value: schedule.team, text: schedule.team })),
        team: teams.map((team) => ({ value: team.name, text: team.name })),
      };
      render();
    },
    set(next) {
      steps = next.map((step) => ({ delay_minutes: step.delay_minutes, targets: step.targets.map((target) => ({ ...target })) }));
      render();
    },
    reset() {
      this.set([{ delay_minutes: DEFAULT_DELAY, targets: [newTarget()] }]);
    },
    add() {
      steps.push({ delay_minutes: DEFAULT_DELAY, targets: [newTarget()] });
      render();
      box.querySelector(`fieldset[data-step='${steps.length}'] .target-type`).focus();
    },
    value() {
      return steps.map((step) => ({ delay_minutes: step.delay_minutes, targets: step.targets.map((target) => ({ ...target })) }));
    },
  };
}
