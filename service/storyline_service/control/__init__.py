"""Project control for managers: milestones, budget, the risk register and stakeholder status updates."""
